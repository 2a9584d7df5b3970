/**
 * Stable reason codes. Alerts, metrics, the API and the CLI show them, and tests assert them:
 * never rename one; add new ones instead. Kebab-case, like the rest of the public surface.
 */
export const FAIL_CODES = [
  // Evidence documents that are present but malformed or of an unknown kind.
  'bundle-invalid',
  'bundle-unsupported-version',
  'envelope-invalid',
  'statement-invalid',
  'provenance-invalid',
  'checksums-file-invalid',
  'certificate-invalid',
  'signature-encoding-invalid',
  // Cryptographic chain.
  'certificate-chain-invalid',
  'sct-invalid',
  'signature-invalid',
  'tlog-entry-invalid',
  'tlog-entry-mismatch',
  'tlog-inclusion-invalid',
  'tlog-entry-missing',
  'timestamp-invalid',
  'public-key-mismatch',
  // Who signed and what they said.
  'identity-mismatch',
  'issuer-mismatch',
  'subject-digest-mismatch',
  'predicate-type-mismatch',
  'builder-untrusted',
  'source-mismatch',
  'source-tag-mismatch',
  'source-branch-mismatch',
  'source-versioned-tag-mismatch',
  'checksum-mismatch',
  'checksum-entry-missing',
  // An executable or archive of the release that no provenance covers (expect: { coverage: all }).
  'artifact-uncovered',
  'policy-violation',
  'sbom-invalid',
  // Inputs that cannot be what they claim (treated as evidence that is wrong).
  'input-too-large',
  'input-unreadable',
  // Published evidence that changed after provwatch first saw it: never a silent update.
  'asset-changed',
  'tag-moved',
  // A release GitHub marked immutable that is seen mutable again: its assets and tag are no longer locked.
  'immutability-revoked',
] as const;

export const ERROR_CODES = [
  // Could not decide: the check must be retried, never reported as pass or fail.
  'tlog-unavailable',
  'trust-root-invalid',
  'trust-root-unavailable',
  'policy-evaluation-error',
  'network-error',
  // Another check this one relies on did not pass (e.g. an SBOM needs verified provenance).
  'prerequisite-failed',
  // A release just discovered, before its first verification has run (recorded so it is never lost).
  'not-yet-verified',
  // The evidence could not be fetched (registry, GitHub or log answered badly or not at all).
  'source-unavailable',
  // The whole verification ran past its deadline (PROVWATCH_VERIFY_DEADLINE) and was stopped.
  'verification-timeout',
  // An evidence file a check reads did not fit in the release's memory budget (PROVWATCH_EVIDENCE_BUDGET).
  'evidence-over-budget',
  'internal-error',
] as const;

export type FailCode = (typeof FAIL_CODES)[number];
export type ErrorCode = (typeof ERROR_CODES)[number];
/**
 * Codes of the other statuses: `verified` (pass); `evidence-missing` and `evidence-regressed`
 * (missing: declared evidence absent, or evidence earlier releases carried absent from this one);
 * `evidence-not-promised` and `check-off` (not-applicable: never declared nor published, or
 * turned off by the target's `expect`).
 */
export type ReasonCode = FailCode | ErrorCode | 'verified' | 'evidence-missing' | 'evidence-regressed' | 'evidence-not-promised' | 'check-off';

const ERROR_CODE_SET: ReadonlySet<string> = new Set(ERROR_CODES);

export function isErrorCode(code: string): code is ErrorCode {
  return ERROR_CODE_SET.has(code);
}
