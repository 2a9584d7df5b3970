import { CheckStatus as DbCheckStatus } from './generated/client';

/**
 * Check statuses as the rest of provwatch names them (verdicts, metrics, API). Postgres holds the
 * same labels (`not-applicable` through `@map`), so raw queries return these names; only the
 * Prisma model API spells the last one `not_applicable`, and the two helpers below translate at
 * that seam, nowhere else.
 */
export const CheckStatus = {
  pass: 'pass',
  fail: 'fail',
  missing: 'missing',
  error: 'error',
  notApplicable: 'not-applicable',
} as const;
export type CheckStatus = (typeof CheckStatus)[keyof typeof CheckStatus];

export const CHECK_STATUSES: readonly CheckStatus[] = Object.values(CheckStatus);

export function toDbStatus(status: CheckStatus): DbCheckStatus {
  return status === 'not-applicable' ? DbCheckStatus.not_applicable : status;
}

export function fromDbStatus(status: DbCheckStatus): CheckStatus {
  return status === DbCheckStatus.not_applicable ? 'not-applicable' : status;
}

/**
 * How bad a status is, for the worst-of summaries of a run, a release or a target: a fail anywhere
 * fails; error beats missing beats pass; not-applicable counts for nothing, so a release whose
 * applicable checks all pass is `pass`.
 */
export const STATUS_SEVERITY: Readonly<Record<CheckStatus, number>> = { 'not-applicable': 0, pass: 1, missing: 2, error: 3, fail: 4 };

export function worstStatus(statuses: readonly CheckStatus[]): CheckStatus | null {
  if (statuses.length === 0) return null;
  return statuses.reduce((worst, s) => (STATUS_SEVERITY[s] > STATUS_SEVERITY[worst] ? s : worst));
}
