import { type Verdict, notApplicableVerdict } from '../verdict';

/** What a target's `expect:` may say of one kind of evidence. */
export type EvidenceExpectation = 'required' | 'optional' | 'off';

export interface ExpectationContext {
  /** What the evidence is, for messages: "provenance", "signed checksums", "SBOM". */
  evidence: string;
  /** The release or tag being judged. */
  subject: string;
  /** The watchlist names this evidence for the target (artifacts.provenance, an image's policy...). */
  declared: boolean;
  /** `expect:` for this check, which overrides both the declaration and the history. */
  expect?: EvidenceExpectation;
  /** The newest earlier release of the target whose check found this evidence (passing or not). */
  lastCarriedBy?: string;
}

/**
 * Decides whether absent evidence matters, from what the user declared and what the project has
 * shown. Evidence that is present is judged as found (an optional signature that is wrong still
 * fails); only `missing` is reinterpreted:
 * - declared or `required`: missing (pages after the grace period);
 * - `optional`: not-applicable;
 * - neither declared nor ever published: not-applicable (a monitor that pages on promises a
 *   project never made is switched off within a week);
 * - not declared but carried by an earlier release: missing, `evidence-regressed`. Stripping
 *   signatures or provenance from a release is the cheapest attack on a pipeline, and it looks
 *   exactly like a project that never had them, except for the history.
 * `off` silences the check whatever it found.
 */
export function applyEvidenceExpectation(verdict: Verdict, context: ExpectationContext): Verdict {
  const { evidence, subject, expect } = context;
  if (expect === 'off') {
    return notApplicableVerdict('check-off', `${evidence} is not checked for this target (expect: off); found: ${verdict.status} (${verdict.code})`, verdict.evidence);
  }
  if (verdict.status !== 'missing') return verdict;
  if (expect === 'required' || (expect === undefined && context.declared)) return verdict;
  if (expect === 'optional') {
    return notApplicableVerdict('evidence-not-promised', `${evidence} is optional for this target and absent from ${subject}: ${verdict.message}`, verdict.evidence);
  }
  if (context.lastCarriedBy !== undefined) {
    return {
      status: 'missing',
      code: 'evidence-regressed',
      message: `${evidence} published up to ${context.lastCarriedBy}, absent from ${subject}: ${verdict.message}`,
      evidence: { ...verdict.evidence, details: { ...verdict.evidence.details, lastCarriedBy: context.lastCarriedBy } },
    };
  }
  return notApplicableVerdict('evidence-not-promised', `${evidence} was never declared for this target nor published by it: ${verdict.message}`, verdict.evidence);
}
