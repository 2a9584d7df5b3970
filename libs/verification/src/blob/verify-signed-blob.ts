import type { KeyObject } from 'node:crypto';
import { type Statement, parseStatement } from '../intoto';
import { type Artifact, type IdentityPolicy, type SigstoreTrustRoot, type VerifiedBundle, describeDigests, subjectMatchesArtifact, verifyBundle } from '../sigstore';
import { type Evidence, type Verdict, VerificationError, passVerdict, verdictFromError } from '../verdict';
import { type TlogSearchResult, searchCutOff } from '../rekor';
import { bundleFromLegacyBlobSignature } from './legacy-blob-signature';
import { assertLegacyBlobOffline } from '../provenance/legacy-offline';

export interface SignedBlobOptions {
  trustRoot: SigstoreTrustRoot;
  artifact: Artifact;
  identity?: IdentityPolicy;
  publicKey?: KeyObject;
}

/**
 * `verify-bundle` / `cosign verify-blob --bundle`: the bundle signs the artifact itself (message
 * signature) or an in-toto statement one of whose subjects is the artifact (DSSE).
 */
export function verifyBlobBundle(bundle: Uint8Array | string | object, options: SignedBlobOptions): Verdict {
  const evidence: Evidence = { artifactDigests: artifactDigests(options.artifact) };
  try {
    const verified = verifyBundle(bundle, options);
    return passVerdict(describe(verified), { ...evidence, ...evidenceOf(verified), ...statementEvidence(verified, options.artifact) });
  } catch (err) {
    return verdictFromError(err, evidence);
  }
}

/**
 * `cosign verify-blob --certificate C --signature S`: no bundle, so the Rekor entries found for
 * the artifact are tried one by one; the first that verifies completely wins. No entry is a
 * `fail` (`tlog-entry-missing`): cosign without a bundle requires one too.
 */
export function verifyLegacyBlob(
  input: { certificateDer: Buffer; signature: Buffer; tlogSearch: TlogSearchResult },
  options: SignedBlobOptions,
): Verdict {
  const evidence: Evidence = { artifactDigests: artifactDigests(options.artifact) };
  const artifactSha256 = options.artifact.digests.sha256;
  if (!artifactSha256) return verdictFromError(new VerificationError('input-unreadable', 'a signature without a bundle is found in the log by the artifact’s sha256, which was not given'), evidence);
  const offline = legacyBlobOfflineVerdict(input, options);
  if (offline) return offline;
  const { entries, truncated } = input.tlogSearch;
  if (entries.length === 0) {
    return verdictFromError(new VerificationError('tlog-entry-missing', 'no transparency log entry exists for this artifact'), evidence);
  }
  let firstError: unknown;
  for (const rekorEntry of entries) {
    try {
      const bundle = bundleFromLegacyBlobSignature({ ...input, artifactSha256, rekorEntry });
      const verified = verifyBundle(bundle, options);
      return passVerdict(describe(verified), { ...evidence, ...evidenceOf(verified) });
    } catch (err) {
      // Entries for the same digest signed by others are expected; report the first failure.
      firstError ??= err;
    }
  }
  if (truncated) return verdictFromError(searchCutOff(entries.length), evidence);
  return verdictFromError(firstError, evidence);
}

/**
 * What `.pem` + `.sig` can prove without the log (certificate parses, issued by the trust root's
 * CA, signer identity, signature over the artifact): the failing verdict, or undefined when a
 * Rekor search is worth making. Callers ask this before searching, so a garbage certificate is
 * `certificate-invalid`, not `tlog-unavailable` when the log is down.
 */
export function legacyBlobOfflineVerdict(input: { certificateDer: Buffer; signature: Buffer }, options: SignedBlobOptions): Verdict | undefined {
  try {
    assertLegacyBlobOffline(input, options);
    return undefined;
  } catch (err) {
    return verdictFromError(err, { artifactDigests: artifactDigests(options.artifact) });
  }
}

export function evidenceOf(verified: VerifiedBundle): Evidence {
  return { signer: verified.signer, tlog: verified.tlog, timestamps: verified.timestamps, ...(verified.warnings.length ? { warnings: verified.warnings } : {}) };
}

function statementEvidence(verified: VerifiedBundle, artifact: Artifact): Evidence {
  if (!verified.dsse) return {};
  const statement = parseStatement(verified.dsse.payload, verified.dsse.payloadType);
  const subject = statement.subject.find((s) => subjectMatchesArtifact(s.digest, artifact));
  if (!subject) {
    const named = [...new Set(statement.subject.flatMap((s) => Object.keys(s.digest)))].join(', ');
    throw new VerificationError(
      'subject-digest-mismatch',
      `no subject of the statement has the artifact's digest (${describeDigests(artifact)}); the subjects name ${named || 'no digests'}`,
    );
  }
  return { predicateType: statement.predicateType, subjects: statement.subject.map((s) => ({ name: s.name, digest: { ...s.digest } })) };
}

/** `sha256:<hex>` (and the other computed digests) of the artifact, for the evidence. */
function artifactDigests(artifact: Artifact): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [alg, digest] of Object.entries(artifact.digests)) if (digest) out[alg === 'sha256' ? 'artifact' : `artifact-${alg}`] = `${alg}:${digest.toString('hex')}`;
  return out;
}

function describe(verified: VerifiedBundle): string {
  const who = verified.signer.identity ? `${verified.signer.identity} (issuer ${verified.signer.issuer})` : `key ${verified.signer.keyHint || '(no hint)'}`;
  const where = verified.tlog.map((t) => `log index ${t.logIndex}`).join(', ');
  return `signature verified: signed by ${who}${where ? `, ${where}` : ''}`;
}

/**
 * Runs after signature, identity, predicate type and subject have been verified (a CUE policy,
 * an SBOM's shape); throws VerificationError to fail and may add evidence details.
 */
export type BlobStatementCheck = (statement: Statement) => Promise<Record<string, unknown> | void>;

/**
 * `cosign verify-blob-attestation --bundle B --type T FILE`: the bundle is a DSSE attestation by
 * the expected signer whose statement has the wanted predicate type and names the file's digest
 * as a subject. Threats: an attestation of another type (an SBOM where provenance was asked) or
 * of another file (a subject digest that differs) passing because the signature itself is fine.
 */
export async function verifyBlobAttestation(
  bundle: Uint8Array | string | object,
  options: SignedBlobOptions & { predicateType: string },
  check?: BlobStatementCheck,
): Promise<Verdict> {
  const evidence: Evidence = { artifactDigests: artifactDigests(options.artifact), predicateType: options.predicateType };
  try {
    const verified = verifyBundle(bundle, options);
    if (!verified.dsse) throw new VerificationError('envelope-invalid', 'the bundle signs a message, not an attestation (DSSE envelope)');
    const statement = parseStatement(verified.dsse.payload, verified.dsse.payloadType);
    if (statement.predicateType !== options.predicateType) {
      throw new VerificationError('predicate-type-mismatch', `statement predicate type is ${statement.predicateType}, expected ${options.predicateType}`);
    }
    const subjects = statementEvidence(verified, options.artifact);
    const details = (check ? await check(statement) : undefined) ?? undefined;
    return passVerdict(`attestation ${statement.predicateType} verified: ${describe(verified).replace(/^signature verified: /, '')}`, {
      ...evidence,
      ...evidenceOf(verified),
      ...subjects,
      ...(details ? { details } : {}),
    });
  } catch (err) {
    return verdictFromError(err, evidence);
  }
}
