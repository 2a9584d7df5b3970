import { VerificationError } from '../verdict';

/**
 * One entry as Rekor v1's REST API returns it (`GET /api/v1/log/entries/{uuid}`, the value under
 * the uuid key), and as cosign embeds its essentials in `dev.sigstore.cosign/bundle`. Everything
 * in it is attacker-controlled until the SET or inclusion proof has been verified against the
 * log key in the trust root, which verifyBundle does.
 */
export interface RekorLogEntry {
  body: string; // base64 of the canonicalized entry
  integratedTime: number;
  logID: string; // hex sha256 of the log's public key
  logIndex: number;
  verification?: {
    signedEntryTimestamp?: string; // base64
    inclusionProof?: {
      logIndex: number;
      rootHash: string; // hex
      treeSize: number;
      hashes: string[]; // hex
      checkpoint?: string;
    };
  };
}

/** The JSON form of a Sigstore bundle's TransparencyLogEntry, built from a Rekor v1 entry. */
export function tlogEntryFromRekor(entry: RekorLogEntry): Record<string, unknown> {
  const problems: string[] = [];
  if (typeof entry?.body !== 'string') problems.push('body');
  if (!Number.isSafeInteger(entry?.integratedTime) || entry.integratedTime <= 0) problems.push('integratedTime');
  if (typeof entry?.logID !== 'string' || !/^[0-9a-f]{64}$/i.test(entry.logID)) problems.push('logID');
  if (!Number.isSafeInteger(entry?.logIndex) || entry.logIndex < 0) problems.push('logIndex');
  problems.push(...verificationProblems(entry?.verification));
  if (problems.length > 0) throw new VerificationError('tlog-entry-invalid', `Rekor entry has invalid fields: ${problems.join(', ')}`);

  let body: { kind?: unknown; apiVersion?: unknown };
  try {
    body = JSON.parse(Buffer.from(entry.body, 'base64').toString('utf8'));
  } catch {
    throw new VerificationError('tlog-entry-invalid', 'Rekor entry body is not base64-encoded JSON');
  }
  if (typeof body.kind !== 'string' || typeof body.apiVersion !== 'string') {
    throw new VerificationError('tlog-entry-invalid', 'Rekor entry body has no kind/apiVersion');
  }
  const proof = entry.verification?.inclusionProof;
  const set = entry.verification?.signedEntryTimestamp;
  return {
    logIndex: String(entry.logIndex),
    logId: { keyId: Buffer.from(entry.logID, 'hex').toString('base64') },
    kindVersion: { kind: body.kind, version: body.apiVersion },
    integratedTime: String(entry.integratedTime),
    inclusionPromise: set ? { signedEntryTimestamp: set } : undefined,
    inclusionProof: proof
      ? {
          logIndex: String(proof.logIndex),
          rootHash: Buffer.from(proof.rootHash, 'hex').toString('base64'),
          treeSize: String(proof.treeSize),
          hashes: proof.hashes.map((h) => Buffer.from(h, 'hex').toString('base64')),
          checkpoint: proof.checkpoint ? { envelope: proof.checkpoint } : undefined,
        }
      : undefined,
    canonicalizedBody: entry.body,
  };
}

/** A Merkle path longer than this cannot come from a log of fewer than 2^64 entries. */
const MAX_PROOF_HASHES = 64;
const HEX_SHA256 = /^[0-9a-f]{64}$/i;

/**
 * The log's answer is untrusted until verified, and a hostile log (or anyone in the path) can
 * send any JSON: every field the conversion reads is checked for shape here, so a bad answer is
 * `tlog-entry-invalid` naming the field, never a TypeError deep in the conversion.
 */
function verificationProblems(verification: unknown): string[] {
  if (verification === undefined) return [];
  if (!isRecord(verification)) return ['verification'];
  const problems: string[] = [];
  const set = verification.signedEntryTimestamp;
  if (set !== undefined && (typeof set !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(set))) problems.push('verification.signedEntryTimestamp');
  const proof = verification.inclusionProof;
  if (proof === undefined) return problems;
  if (!isRecord(proof)) return [...problems, 'verification.inclusionProof'];
  const where = 'verification.inclusionProof';
  if (!Number.isSafeInteger(proof.logIndex) || (proof.logIndex as number) < 0) problems.push(`${where}.logIndex`);
  if (!Number.isSafeInteger(proof.treeSize) || (proof.treeSize as number) <= 0) problems.push(`${where}.treeSize`);
  else if (Number.isSafeInteger(proof.logIndex) && (proof.logIndex as number) >= (proof.treeSize as number)) problems.push(`${where}.logIndex (not below treeSize)`);
  if (typeof proof.rootHash !== 'string' || !HEX_SHA256.test(proof.rootHash)) problems.push(`${where}.rootHash`);
  const hashes = proof.hashes;
  if (!Array.isArray(hashes)) problems.push(`${where}.hashes (not an array)`);
  else if (hashes.length > MAX_PROOF_HASHES) problems.push(`${where}.hashes (${hashes.length} entries, more than ${MAX_PROOF_HASHES})`);
  else hashes.forEach((h, i) => (typeof h !== 'string' || !HEX_SHA256.test(h) ? problems.push(`${where}.hashes[${i}]`) : undefined));
  if (proof.checkpoint !== undefined && typeof proof.checkpoint !== 'string') problems.push(`${where}.checkpoint`);
  return problems;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Finds Rekor entries for an artifact (online search at the edge). Implementations throw
 * VerificationError('tlog-unavailable') when the log cannot be asked: that is never a pass.
 */
export interface TlogEntryFinder {
  findByArtifactDigest(sha256Hex: string): Promise<TlogSearchResult>;
}

export interface TlogSearchResult {
  entries: RekorLogEntry[];
  /**
   * True when the log listed more entries than were fetched. Anyone can log entries for a
   * public digest: if none of the fetched ones verifies, the real one may be among the rest,
   * so the verdict is `error` (undecided), never `fail`.
   */
  truncated: boolean;
}

/** The log had more entries than were checked: the right one may be among the rest. */
export function searchCutOff(checked: number): VerificationError {
  return new VerificationError('tlog-unavailable', `none of the ${checked} transparency log entries checked verifies, and the log listed more`);
}
