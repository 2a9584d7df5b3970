import type { Bundle, TransparencyLogEntry } from '@sigstore/bundle';
import { X509Certificate, crypto as sigstoreCrypto } from '@sigstore/core';
import { HashAlgorithm } from '@sigstore/protobuf-specs';
import { type SignedEntity, type TrustMaterial, toSignedEntity } from '@sigstore/verify';
import { type KeyObject, X509Certificate as NodeCertificate } from 'node:crypto';
import { type SignerEvidence, type TlogEvidence, VerificationError } from '../verdict';
import type { Artifact, DigestAlgorithm } from './artifact';
import { parseBundle } from './bundle-parser';
import { signerEvidenceFromCertificate } from './fulcio-certificate';
import { type CaCertificate, verifyEmbeddedScts } from './fulcio-chain';
import { type IdentityPolicy, assertIdentity } from './identity-policy';
import { DigestMessageSignatureContent } from './message-signature-content';
import { fromSigstoreError } from './sigstore-error.mapping';
import { isIntotoV001, verifyIntotoV001Entry } from '../tlog';
import type { SigstoreTrustRoot, VerifierThresholds } from './trust-root';
import { type CertificateFields, readCertificateFields } from './x509-fields';

export interface BundleVerificationOptions {
  trustRoot: SigstoreTrustRoot;
  /** Who must have signed (keyless). Required unless `publicKey` is given. */
  identity?: IdentityPolicy;
  /** A managed key (cosign --key): the bundle must be signed by exactly this key. */
  publicKey?: KeyObject;
  /** Required for message signatures; for DSSE the caller matches it against the statement. */
  artifact?: Artifact;
  thresholds?: Partial<VerifierThresholds>;
  /**
   * The exact envelope bytes that were logged (a cosign `.att` layer blob). Needed only for Rekor
   * `intoto/0.0.1` entries, whose body commits to a hash of those bytes.
   */
  loggedEnvelope?: Buffer;
}

export interface VerifiedBundle {
  bundle: Bundle;
  signer: SignerEvidence;
  tlog: TlogEvidence[];
  /** Verified signing times (tlog integrated times and RFC 3161 timestamps), ISO 8601. */
  timestamps: string[];
  /** Accepted oddities worth showing (e.g. `chainIncludesTrustRoot: ...`); never a reason to pass. */
  warnings: string[];
  /** The DSSE payload, present when the bundle signs an envelope; only trust it after this returns. */
  dsse?: { payloadType: string; payload: Buffer };
}

const DIGEST_ALGORITHMS: Partial<Record<HashAlgorithm, DigestAlgorithm>> = {
  [HashAlgorithm.HASH_ALGORITHM_UNSPECIFIED]: 'sha256',
  [HashAlgorithm.SHA2_256]: 'sha256',
  [HashAlgorithm.SHA2_384]: 'sha384',
  [HashAlgorithm.SHA2_512]: 'sha512',
};

/** Digest algorithm a message-signature bundle signs with, so callers hash the artifact once with it. */
export function messageDigestAlgorithm(bundle: Bundle): DigestAlgorithm | undefined {
  if (bundle.content.$case !== 'messageSignature') return undefined;
  const alg = bundle.content.messageSignature.messageDigest?.algorithm ?? HashAlgorithm.SHA2_256;
  return DIGEST_ALGORITHMS[alg];
}

/**
 * Which digests of the artifact verifying this bundle needs, so the caller hashes the file once
 * with each: the message digest's algorithm, or every algorithm (of sha256/384/512) the DSSE
 * statement's subjects name. Read from the unverified bundle only to decide what to compute:
 * the match itself happens after verification. sha256 is always included (evidence shows it).
 */
export function digestAlgorithmsForBundle(input: Bundle | Uint8Array | string | object): DigestAlgorithm[] {
  const bundle = isParsedBundle(input) ? input : parseBundle(input);
  const needed = new Set<DigestAlgorithm>(['sha256']);
  const message = messageDigestAlgorithm(bundle);
  if (message) needed.add(message);
  if (bundle.content.$case === 'dsseEnvelope') {
    let statement: any;
    try {
      statement = JSON.parse(Buffer.from(bundle.content.dsseEnvelope.payload).toString('utf8'));
    } catch {
      statement = undefined; // not JSON: the statement check reports it after verification
    }
    const subjects: unknown[] = Array.isArray(statement?.subject) ? statement.subject : [];
    for (const subject of subjects) {
      const digest = (subject as { digest?: unknown })?.digest;
      if (typeof digest !== 'object' || digest === null) continue;
      for (const alg of ['sha256', 'sha384', 'sha512'] as const) if (Object.hasOwn(digest, alg)) needed.add(alg);
    }
  }
  return [...needed];
}

/**
 * Verifies a Sigstore bundle offline: certificate chain to the trust root with SCTs, the
 * transparency log entry (inclusion proof or promise, checkpoint, body matches the content),
 * timestamps inside the certificate's validity, the signature, and finally the signer's
 * identity. Throws VerificationError; returns only when every step passed.
 */
export function verifyBundle(input: Bundle | Uint8Array | string | object, options: BundleVerificationOptions): VerifiedBundle {
  const bundle = isParsedBundle(input) ? input : parseBundle(input);
  const material = bundle.verificationMaterial.content;
  if (options.publicKey) {
    if (material.$case !== 'publicKey') {
      throw new VerificationError('public-key-mismatch', 'a public key was given but the bundle is signed with a certificate');
    }
  } else {
    if (!options.identity) throw new VerificationError('identity-mismatch', 'no signer identity policy was given');
    if (material.$case === 'publicKey') {
      throw new VerificationError('public-key-mismatch', 'the bundle is signed with a managed key, but no key was given to verify it');
    }
  }

  const chain = leafOnlyChain(bundle, options.trustRoot);
  const warnings: string[] = chain.warnings;
  // For a certificate, sigstore-js is handed the entity with the leaf's key taken out of it
  // (below): `leaf` is the certificate, read once by x509-fields.ts.
  const leaf = chain.leaf;
  let entity = signedEntity(chain.bundle, options.artifact, leaf !== undefined);
  const tlog = bundle.verificationMaterial.tlogEntries.map(tlogEvidence);
  const thresholds: VerifierThresholds = {
    tlogThreshold: 1,
    ctlogThreshold: material.$case === 'publicKey' ? 0 : 1,
    timestampThreshold: 1,
    ...options.thresholds,
  };
  // Say what is missing before sigstore-js reports it as a lack of timestamps.
  if (entity.tlogEntries.length < thresholds.tlogThreshold) {
    throw new VerificationError('tlog-entry-missing', `the bundle has ${entity.tlogEntries.length} transparency log entries; ${thresholds.tlogThreshold} required`);
  }
  const legacyEntries = entity.tlogEntries.filter(isIntotoV001);
  if (legacyEntries.length > 0) {
    // sigstore-js cannot check this kind: verify it here, then let it check the rest.
    if (bundle.content.$case !== 'dsseEnvelope' || !leaf || !options.loggedEnvelope) {
      throw new VerificationError('tlog-entry-invalid', 'an intoto/0.0.1 log entry can only be checked against the logged envelope bytes');
    }
    const certificate = coreCertificate(leaf.der);
    for (const entry of legacyEntries) {
      verifyIntotoV001Entry(entry, options.trustRoot.trustMaterial, {
        envelopeBytes: options.loggedEnvelope,
        payload: Buffer.from(bundle.content.dsseEnvelope.payload),
        certificate,
      });
    }
    entity = { ...entity, tlogEntries: entity.tlogEntries.filter((e) => !isIntotoV001(e)) };
    thresholds.tlogThreshold = Math.max(0, thresholds.tlogThreshold - legacyEntries.length);
  }
  // Said before sigstore-js, which crashes on a certificate with no time at all to check it at.
  entity.tlogEntries.forEach((entry, i) => {
    if (isCheckpointOnly(entry) && !entity.timestamps.some((ts) => ts.$case === 'timestamp-authority')) {
      throw new VerificationError('tlog-entry-invalid', `verificationMaterial.tlogEntries[${i}] has no signed entry timestamp and the bundle has no RFC 3161 timestamp: the time it was logged is not authenticated`);
    }
  });
  let verifier = options.publicKey ? options.trustRoot.keyVerifier(options.publicKey, thresholds) : options.trustRoot.verifier(thresholds);
  let chainChecks = 0;
  if (!options.publicKey && leaf) {
    // The certificate is checked here (fulcio-chain.ts, CA side cached per trust root) instead of
    // by sigstore-js, which re-verifies the whole chain per bundle. sigstore-js still checks the
    // timestamps, the log entries and the signature, with the leaf's key, and hands every
    // verified signing time to `validAt`, where the chain and SCTs are checked at that time.
    const fulcio = options.trustRoot.fulcio;
    const parsed = fulcio.leaf(leaf);
    const signedBy = new Map<CaCertificate, boolean>();
    const sctsChecked = new Set<CaCertificate>();
    const validAt = (time: Date): boolean => {
      const issuer = fulcio.verifyAt(parsed, time, signedBy);
      if (!sctsChecked.has(issuer)) {
        verifyEmbeddedScts(parsed, issuer, options.trustRoot.trustMaterial.ctlogs, thresholds.ctlogThreshold);
        sctsChecked.add(issuer);
      }
      chainChecks++;
      return true;
    };
    verifier = options.trustRoot.signingKeyVerifier(parsed.key, validAt, thresholds);
  }
  try {
    verifier.verify(entity);
  } catch (err) {
    throw fromSigstoreError(err);
  }
  // Fail closed: with no verified time at all the certificate was never checked.
  if (leaf && chainChecks === 0) {
    throw new VerificationError('certificate-chain-invalid', 'the bundle has no verified signing time to check the certificate chain at');
  }
  // Only now are the RFC 3161 times authenticated (sigstore-js verified each one).
  assertCheckpointKeysValid(entity, options.trustRoot.trustMaterial);

  const signer: SignerEvidence = leaf ? signerEvidenceFromCertificate(leaf) : { keyHint: entity.key.$case === 'public-key' ? entity.key.hint : '' };
  if (options.identity && !options.publicKey) assertIdentity(signer, options.identity);

  return {
    bundle,
    signer,
    tlog,
    warnings,
    timestamps: entity.timestamps.map((ts) =>
      ts.$case === 'transparency-log'
        ? new Date(Number(ts.tlogEntry.integratedTime) * 1000).toISOString()
        : ts.timestamp.signingTime.toISOString(),
    ),
    dsse:
      bundle.content.$case === 'dsseEnvelope'
        ? { payloadType: bundle.content.dsseEnvelope.payloadType, payload: Buffer.from(bundle.content.dsseEnvelope.payload) }
        : undefined,
  };
}

/**
 * sigstore-js's view of the bundle. A certificate goes in as a key without a certificate (its
 * key is supplied by the caller's verifier once the chain is checked here): sigstore-js does not
 * parse the leaf a second time (toSignedEntity is handed the bundle without it).
 */
function signedEntity(bundle: Bundle, artifact: Artifact | undefined, hasLeaf: boolean): SignedEntity {
  let entity: SignedEntity;
  try {
    const keyless: Bundle = hasLeaf ? { ...bundle, verificationMaterial: { ...bundle.verificationMaterial, content: { $case: 'publicKey', publicKey: { hint: '' } } } } : bundle;
    entity = toSignedEntity(keyless);
  } catch (err) {
    throw fromSigstoreError(err);
  }
  if (bundle.content.$case !== 'messageSignature') return entity;

  if (!artifact) throw new VerificationError('input-unreadable', 'a message signature can only be verified against the artifact');
  const algorithm = messageDigestAlgorithm(bundle);
  if (!algorithm) throw new VerificationError('bundle-unsupported-version', 'unsupported message digest algorithm');
  const actual = artifact.digests[algorithm];
  if (!actual) throw new VerificationError('input-unreadable', `the artifact's ${algorithm} digest was not computed`);
  // The bundle's messageDigest is only a hint; if present it must agree with the artifact.
  const hint = bundle.content.messageSignature.messageDigest?.digest;
  if (hint && hint.length > 0 && !Buffer.from(hint).equals(actual)) {
    throw new VerificationError(
      'subject-digest-mismatch',
      `artifact ${algorithm} digest ${actual.toString('hex')} does not match the bundle's message digest ${Buffer.from(hint).toString('hex')}`,
    );
  }
  const signature = Buffer.from(bundle.content.messageSignature.signature);
  return { ...entity, signature: new DigestMessageSignatureContent(signature, artifact, algorithm) };
}

/**
 * Roots and intermediates come from the trust root only. Older clients (npm provenance in 2023,
 * v0.1/v0.2 bundles) shipped the whole Fulcio chain after the leaf; sigstore-python warns on such
 * chains and sigstore-go/-js use the leaf. Threat: a bundle carrying its own anchor (a self-signed
 * root or an intermediate of another CA) to make a foreign leaf look trusted. So an extra
 * certificate is accepted only when it is byte-equal to a certificate of one of the trust root's
 * own CA chains (it then adds nothing: the leaf is verified against the trust root alone, and the
 * bundle handed on carries the leaf only); any other extra certificate is rejected.
 */
function leafOnlyChain(bundle: Bundle, trustRoot: SigstoreTrustRoot): { bundle: Bundle; warnings: string[]; leaf?: CertificateFields } {
  const material = bundle.verificationMaterial.content;
  if (material.$case === 'publicKey') return { bundle, warnings: [] };
  if (material.$case === 'certificate') {
    return { bundle, warnings: [], leaf: readLeaf(material.certificate.rawBytes, 'verificationMaterial.certificate') };
  }
  const raws = material.x509CertificateChain.certificates;
  if (raws.length === 0) throw new VerificationError('certificate-invalid', 'verificationMaterial.x509CertificateChain.certificates is empty');
  const leaf = readLeaf(raws[0].rawBytes, 'verificationMaterial.x509CertificateChain.certificates[0]');
  // The others only for what to say about them: whether they are the trust root's is decided by bytes.
  const certs = raws.map((raw, i) => {
    if (i === 0) return undefined;
    try {
      return parseCertificate(Buffer.from(raw.rawBytes));
    } catch (err) {
      throw new VerificationError('certificate-invalid', `verificationMaterial.x509CertificateChain.certificates[${i}] cannot be parsed as X.509: ${describeParseError(err)}`);
    }
  });
  if (leaf.subject.equals(leaf.issuer) && selfSigned(leaf.der)) {
    throw new VerificationError('certificate-chain-invalid', "certificate 0 (the leaf) in the bundle's chain is self-signed; roots come only from the trust root");
  }
  if (certs.length === 1) return { bundle, warnings: [], leaf };
  certs.forEach((cert, i) => {
    if (!cert) return;
    if (!trustRoot.fulcio.isTrustRootCertificate(Buffer.from(raws[i].rawBytes))) {
      const root = cert.subject.equals(cert.issuer) && safeSelfVerify(cert) ? 'a self-signed root that is' : 'a certificate';
      throw new VerificationError(
        'certificate-chain-invalid',
        `certificate ${i} in the bundle's chain is ${root} not in the trust root's certificate authorities; roots and intermediates come only from the trust root`,
      );
    }
  });
  const leafOnly: Bundle = {
    ...bundle,
    verificationMaterial: {
      ...bundle.verificationMaterial,
      content: { $case: 'x509CertificateChain', x509CertificateChain: { certificates: [raws[0]] } },
    },
  };
  return {
    bundle: leafOnly,
    leaf,
    warnings: [
      `chainIncludesTrustRoot: the bundle's certificate chain carries ${certs.length - 1} certificate(s) of the trust root's own certificate authorities after the leaf; they were ignored and the leaf verified against the trust root`,
    ],
  };
}

/** The bundle's leaf, read once (x509-fields.ts); what cannot be read is certificate-invalid. */
function readLeaf(rawBytes: Uint8Array, field: string): CertificateFields {
  try {
    return readCertificateFields(Buffer.from(rawBytes.buffer, rawBytes.byteOffset, rawBytes.byteLength));
  } catch (err) {
    throw new VerificationError('certificate-invalid', `${field} cannot be parsed as X.509: ${describeParseError(err)}`);
  }
}

/** Does the certificate verify with its own key (node:crypto: OpenSSL's X509_verify)? */
function selfSigned(der: Buffer): boolean {
  try {
    const cert = new NodeCertificate(der);
    return cert.verify(cert.publicKey);
  } catch {
    return false;
  }
}

/**
 * @sigstore/core tries to read every OCTET STRING as nested DER and throws (then swallows) an
 * error for each one that is not: a third of parsing a Fulcio leaf went into capturing stack
 * traces nobody sees. The parse is synchronous, so the limit is restored before anything else runs.
 */
function parseCertificate(der: Buffer<ArrayBuffer>): X509Certificate {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return X509Certificate.parse(der);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

function describeParseError(err: unknown): string {
  // ASN.1 decoder messages name the fault; a TypeError from deeper down does not, so hide it.
  return err instanceof TypeError || !(err instanceof Error) ? 'not DER' : err.message;
}

function safeSelfVerify(cert: X509Certificate): boolean {
  try {
    return cert.verify();
  } catch {
    return false;
  }
}

/**
 * For entries with a signed entry timestamp (Rekor v1) the SET authenticates the top-level log
 * index. Checkpoint-only entries (Rekor v2) have no SET: only the inclusion proof's index is
 * proven (the Merkle path is computed from it), so that is the one reported, and a top-level
 * index that disagrees is a forged or broken entry. (Rekor v1 entries may legitimately differ:
 * the SET covers the global index, the proof the shard's.)
 */
function tlogEvidence(entry: TransparencyLogEntry, i: number): TlogEvidence {
  const integrated = Number(entry.integratedTime);
  let logIndex = String(entry.logIndex);
  if (isCheckpointOnly(entry)) {
    const proven = String(entry.inclusionProof!.logIndex);
    if (proven !== logIndex) {
      throw new VerificationError(
        'tlog-entry-invalid',
        `verificationMaterial.tlogEntries[${i}].logIndex ${logIndex} differs from the index its inclusion proof proves (inclusionProof.logIndex ${proven})`,
      );
    }
    logIndex = proven;
  }
  return {
    logIndex,
    logId: Buffer.from(entry.logId.keyId).toString('hex'),
    // Without a SET the integrated time is not signed by anyone: do not report it as a fact.
    integratedTime: integrated > 0 && !isCheckpointOnly(entry) ? new Date(integrated * 1000).toISOString() : undefined,
    kind: entry.kindVersion.kind,
    version: entry.kindVersion.version,
  };
}

/** No signed entry timestamp: inclusion rests on the checkpoint alone (Rekor v2, some v0.2+ bundles). */
function isCheckpointOnly(entry: TransparencyLogEntry): boolean {
  return !entry.inclusionPromise?.signedEntryTimestamp?.length && entry.inclusionProof !== undefined;
}

/**
 * sigstore-js checks a SET against log keys valid at the integrated time, but a checkpoint against
 * every log key of the trust root whatever its validity. Threat: a retired (or not yet valid) log
 * key, or one whose window is inverted, vouching for an entry. For checkpoint-only entries the
 * integrated time is unsigned, so the authenticated times are the verified RFC 3161 timestamps
 * (they sign the very signature the entry logs): some log key that signs the checkpoint must be
 * valid at every one of them. No verified timestamp means no authenticated time: fail closed.
 */
function assertCheckpointKeysValid(entity: SignedEntity, trust: TrustMaterial): void {
  const times = entity.timestamps.flatMap((ts) => (ts.$case === 'timestamp-authority' ? [ts.timestamp.signingTime] : []));
  entity.tlogEntries.forEach((entry, i) => {
    if (!isCheckpointOnly(entry)) return;
    const where = `verificationMaterial.tlogEntries[${i}]`;
    if (times.length === 0) {
      throw new VerificationError('tlog-entry-invalid', `${where} has no signed entry timestamp and no verified RFC 3161 timestamp: the time it was logged is not authenticated`);
    }
    const signers = checkpointSigners(entry, trust);
    const valid = signers.filter((log) => times.every((t) => log.validFor.start <= t && t <= log.validFor.end));
    if (valid.length === 0) {
      const window = signers.map((l) => `${l.validFor.start.toISOString()} to ${l.validFor.end.toISOString()}`).join(', ') || 'none';
      throw new VerificationError(
        'tlog-inclusion-invalid',
        `${where}: the log key that signed its checkpoint is not valid at the verified timestamp(s) ${times.map((t) => t.toISOString()).join(', ')} (key validity: ${window})`,
      );
    }
  });
}

/** The trust root's logs whose key verifies a signature on the entry's checkpoint (as sigstore-js matches them). */
function checkpointSigners(entry: TransparencyLogEntry, trust: TrustMaterial): TrustMaterial['tlogs'] {
  const envelope = entry.inclusionProof?.checkpoint?.envelope ?? '';
  const split = envelope.indexOf('\n\n');
  if (split < 0) return [];
  const note = Buffer.from(envelope.slice(0, split + 1), 'utf8');
  const signers = new Set<TrustMaterial['tlogs'][number]>();
  for (const match of envelope.slice(split + 2).matchAll(/\u2014 (\S+) (\S+)\n/g)) {
    const raw = Buffer.from(match[2], 'base64');
    if (raw.length <= 4) continue;
    const hint = raw.subarray(0, 4);
    const signature = raw.subarray(4);
    for (const log of trust.tlogs) {
      if (!log.logID.subarray(0, 4).equals(hint) || !log.baseURL.includes(match[1])) continue;
      if (safeCheck(() => sigstoreCrypto.verify(note, log.publicKey, signature))) signers.add(log);
    }
  }
  return [...signers];
}

function safeCheck(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}

/** @sigstore/core's view of the leaf, for the one check written against it (intoto/0.0.1 entries). */
function coreCertificate(der: Buffer): X509Certificate {
  try {
    return parseCertificate(Buffer.from(der));
  } catch (err) {
    throw new VerificationError('certificate-invalid', `the bundle's leaf certificate cannot be parsed as X.509: ${describeParseError(err)}`);
  }
}

function isParsedBundle(input: unknown): input is Bundle {
  // Parsed bundles carry a tagged `content`; the JSON form has messageSignature/dsseEnvelope keys.
  const content = (input as { content?: { $case?: unknown } } | null)?.content;
  return typeof content === 'object' && content !== null && typeof content.$case === 'string';
}

/** The leaf certificate of a bundle, for callers that show it before verification completes. */
export function leafCertificate(bundle: Bundle): X509Certificate | undefined {
  const material = bundle.verificationMaterial.content;
  if (material.$case === 'certificate') return X509Certificate.parse(Buffer.from(material.certificate.rawBytes));
  if (material.$case === 'x509CertificateChain') return X509Certificate.parse(Buffer.from(material.x509CertificateChain.certificates[0].rawBytes));
  return undefined;
}
