import { type ImageEvidence, verifyImageAttestations, type StatementCheck } from '../cosign';
import type { SigstoreTrustRoot } from '../sigstore';
import { IMAGE_TRUSTED_BUILDERS, type SlsaExpectations, verifySlsaProvenance } from '../slsa';
import type { Verdict } from '../verdict';
import { SLSA_GITHUB_GENERATOR_SIGNER } from './verify-artifact-provenance';

export const SLSA_PROVENANCE_V02 = 'https://slsa.dev/provenance/v0.2';
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1';

/**
 * `slsa-verifier verify-image`: a provenance attestation of the image digest, signed by a
 * slsa-github-generator builder, passing the SLSA rules (builder, source, ref) and any further
 * check (the project's CUE policy). v0.2 and v1 predicates are both accepted.
 */
export async function verifyImageProvenance(
  candidates: ImageEvidence[],
  digest: string,
  options: { trustRoot: SigstoreTrustRoot; expectations: SlsaExpectations; extraCheck?: StatementCheck },
): Promise<Verdict> {
  const check: StatementCheck = async (statement, verified) => {
    // Image provenance comes from the container generator, as slsa-verifier verify-image expects.
    const expectations = { trustedBuilders: IMAGE_TRUSTED_BUILDERS, ...options.expectations };
    const slsa = verifySlsaProvenance(statement, verified.verified.signer, expectations);
    const extra = (await options.extraCheck?.(statement, verified)) ?? {};
    return {
      ...extra,
      builderId: slsa.builderId,
      sourceUri: slsa.sourceUri,
      sourceRef: slsa.sourceRef,
      sourceDigest: slsa.sourceDigest,
      buildType: slsa.buildType,
    };
  };
  const verify = (predicateType: string) =>
    verifyImageAttestations(candidates, digest, predicateType, { trustRoot: options.trustRoot, identity: SLSA_GITHUB_GENERATOR_SIGNER }, check);
  const v02 = await verify(SLSA_PROVENANCE_V02);
  // Only fall back to v1 when there was no v0.2 provenance at all; a v0.2 that failed is the verdict.
  if (v02.status === 'pass' || (v02.code !== 'predicate-type-mismatch' && v02.status !== 'missing')) return v02;
  const v1 = await verify(SLSA_PROVENANCE_V1);
  return v1.status === 'pass' || v1.code !== 'predicate-type-mismatch' ? v1 : v02;
}
