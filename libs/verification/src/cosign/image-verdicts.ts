import type { VerifiedBundle } from '../sigstore';
import type { Statement } from '../intoto';
import { type Evidence, type Verdict, passVerdict, verdictFromError } from '../verdict';
import {
  type ImageEvidence,
  type ImageVerificationOptions,
  type VerifiedImageEvidence,
  allVerified,
  claimedPredicateType,
  verifyImageAttestation,
  verifyImageSignature,
} from './image-evidence';

function evidenceFrom(digest: string, verified: VerifiedImageEvidence[]): Evidence {
  const first = verified[0];
  return {
    artifactDigests: { image: digest },
    signer: first.verified.signer,
    tlog: first.verified.tlog,
    timestamps: first.verified.timestamps,
    predicateType: first.statement?.predicateType,
    details: { verifiedCount: verified.length, locations: verified.map((v) => v.location), formats: [...new Set(verified.map((v) => v.format))] },
  };
}

/** `cosign verify`: at least one signature by the expected identity names this digest. */
export function verifyImageSignatures(candidates: ImageEvidence[], digest: string, options: ImageVerificationOptions): Verdict {
  try {
    const verified = allVerified(candidates, (e) => verifyImageSignature(e, digest, options), 'signature');
    return passVerdict(`image ${digest} signed by ${signerName(verified[0].verified)}`, evidenceFrom(digest, verified));
  } catch (err) {
    return verdictFromError(err, { artifactDigests: { image: digest } });
  }
}

/**
 * Runs after signature, identity, predicate type and subject have been verified; throws
 * VerificationError to fail (policy violation, bad SBOM, SLSA rule) and may add evidence.
 */
export type StatementCheck = (statement: Statement, verified: VerifiedImageEvidence) => Promise<Evidence | void> | Evidence | void;

/**
 * `cosign verify-attestation --type T [--policy P]`: at least one attestation of that type by the
 * expected identity names this digest, and every such attestation passes the extra checks.
 */
export async function verifyImageAttestations(
  candidates: ImageEvidence[],
  digest: string,
  predicateType: string,
  options: ImageVerificationOptions,
  check?: StatementCheck,
): Promise<Verdict> {
  try {
    // Only candidates that claim this type (or whose claim cannot be read) are verified.
    const relevant = candidates.filter((c) => (claimedPredicateType(c) ?? predicateType) === predicateType);
    const verified = allVerified(relevant, (e) => verifyImageAttestation(e, digest, predicateType, options), `${predicateType} attestation`);
    let extra: Evidence = {};
    for (const v of verified) extra = { ...extra, ...((check ? await check(v.statement!, v) : undefined) ?? {}) };
    const base = evidenceFrom(digest, verified);
    return passVerdict(`attestation ${predicateType} for ${digest} verified (signed by ${signerName(verified[0].verified)})`, {
      ...base,
      ...extra,
      details: { ...base.details, ...extra.details },
    });
  } catch (err) {
    return verdictFromError(err, { artifactDigests: { image: digest }, predicateType });
  }
}

/** The keyless identity, or the key (cosign --key) that signed. */
function signerName(verified: VerifiedBundle): string {
  return verified.signer.identity ? verified.signer.identity : `the given key${verified.signer.keyHint ? ` (${verified.signer.keyHint})` : ''}`;
}
