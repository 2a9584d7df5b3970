import type { TransparencyLogEntry } from '@sigstore/bundle';
import { X509Certificate, crypto as sigstoreCrypto, json } from '@sigstore/core';
import type { TrustMaterial } from '@sigstore/verify';
import { createHash } from 'node:crypto';
import { VerificationError } from '../verdict';

/**
 * Rekor `intoto/0.0.1` entries, written by cosign for attestations made by slsa-github-generator
 * v1.4.0 to v1.9.0. sigstore-js does not check this kind, so it is checked here: the SET against
 * the log keys of the trust root, then the body against the exact envelope bytes that were
 * logged (the `.att` layer blob), its payload, and the signing certificate.
 */
export function isIntotoV001(entry: TransparencyLogEntry): boolean {
  return entry.kindVersion.kind === 'intoto' && entry.kindVersion.version === '0.0.1';
}

export function verifyIntotoV001Entry(
  entry: TransparencyLogEntry,
  trust: TrustMaterial,
  logged: { envelopeBytes: Buffer; payload: Buffer; certificate: X509Certificate },
): void {
  verifySignedEntryTimestamp(entry, trust);

  // The body is attacker-controlled until the SET verified; now it is the log's statement.
  let body: any;
  try {
    body = JSON.parse(Buffer.from(entry.canonicalizedBody).toString('utf8'));
  } catch {
    throw new VerificationError('tlog-entry-invalid', 'intoto entry body is not JSON');
  }
  if (body?.kind !== 'intoto' || body?.apiVersion !== '0.0.1') {
    throw new VerificationError('tlog-entry-mismatch', 'entry body kind/version does not match its kindVersion');
  }
  const content = body.spec?.content;
  const envelopeHash = sha256Hex(logged.envelopeBytes);
  if (content?.hash?.algorithm !== 'sha256' || content.hash.value !== envelopeHash) {
    throw new VerificationError('tlog-entry-mismatch', 'the log entry is for another envelope (content.hash differs)');
  }
  if (content?.payloadHash !== undefined && (content.payloadHash.algorithm !== 'sha256' || content.payloadHash.value !== sha256Hex(logged.payload))) {
    throw new VerificationError('tlog-entry-mismatch', 'the log entry is for another payload (payloadHash differs)');
  }
  let loggedCert: X509Certificate;
  try {
    loggedCert = X509Certificate.parse(Buffer.from(String(body.spec?.publicKey ?? ''), 'base64').toString('utf8'));
  } catch {
    throw new VerificationError('tlog-entry-mismatch', 'the log entry carries no readable signing certificate');
  }
  if (!loggedCert.equals(logged.certificate)) {
    throw new VerificationError('tlog-entry-mismatch', 'the log entry was made with another certificate');
  }
}

function verifySignedEntryTimestamp(entry: TransparencyLogEntry, trust: TrustMaterial): void {
  const set = entry.inclusionPromise?.signedEntryTimestamp;
  if (!set || set.length === 0) throw new VerificationError('tlog-inclusion-invalid', 'intoto 0.0.1 entry has no signed entry timestamp');
  const integrated = new Date(Number(entry.integratedTime) * 1000);
  const payload = Buffer.from(
    json.canonicalize({
      body: Buffer.from(entry.canonicalizedBody).toString('base64'),
      integratedTime: Number(entry.integratedTime),
      logIndex: Number(entry.logIndex),
      logID: Buffer.from(entry.logId.keyId).toString('hex'),
    }),
    'utf8',
  );
  const logId = Buffer.from(entry.logId.keyId);
  const verified = trust.tlogs
    .filter((log) => log.logID.equals(logId) && log.validFor.start <= integrated && integrated <= log.validFor.end)
    .some((log) => safeVerify(() => sigstoreCrypto.verify(payload, log.publicKey, Buffer.from(set))));
  if (!verified) throw new VerificationError('tlog-inclusion-invalid', 'inclusion promise could not be verified');
}

function safeVerify(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}

function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
