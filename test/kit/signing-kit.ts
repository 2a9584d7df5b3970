import { createHash, generateKeyPairSync, sign } from 'node:crypto';

import { CtLog } from './ct-log';
import { FulcioCa, IssuedCertificate, LeafOptions, spkiOf } from './fulcio-ca';
import { DsseParts, EntryBody, dsseBody, hashedRekordBody, intotoV1Body, intotoV2Body } from './rekor-entry';
import { LoggedEntry, RekorApiEntry, TransparencyLog, generateKitKey } from './transparency-log';

// Test-only signing kit: a private Sigstore (Fulcio CA, Rekor log, CT log)
// that signs in every format provwatch reads. Never shipped.

export { DEFAULT_GITHUB_CLAIMS, GithubClaims, IssuedCertificate, LeafOptions, OIDC_GITHUB } from './fulcio-ca';
export { LoggedEntry, RekorApiEntry } from './transparency-log';

export const GENERIC_GENERATOR_V2_1_0 =
  'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v2.1.0';
export const CONTAINER_GENERATOR_V2_1_0 =
  'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.1.0';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

export const BUNDLE_MEDIA_TYPES = {
  '0.1': 'application/vnd.dev.sigstore.bundle+json;version=0.1',
  '0.2': 'application/vnd.dev.sigstore.bundle+json;version=0.2',
  '0.3': 'application/vnd.dev.sigstore.bundle.v0.3+json',
} as const;
export type BundleVersion = keyof typeof BUNDLE_MEDIA_TYPES;

export interface KitOptions {
  /** the kit's clock: default integrated time, SCT time, leaf validity (default: now, whole seconds) */
  now?: Date;
  /** Rekor host: baseUrl https://<host>, checkpoint origin "<host> - <treeId>" */
  rekorHostname?: string;
}

export interface SignOptions extends LeafOptions {
  /** leaf issued by a CA that is not in the trust root */
  foreignCa?: boolean;
  /** Rekor integrated time (default: the kit's now) */
  integratedTime?: Date;
}

export type DsseTlogKind = 'dsse/0.0.1' | 'intoto/0.0.2' | 'intoto/0.0.1';

export interface DsseSignOptions extends SignOptions {
  /** Rekor entry kind (default dsse/0.0.1). intoto/0.0.1 is not checked by sigstore-js. */
  tlogKind?: DsseTlogKind;
}

/** Serialized (JSON) forms, as the files on disk hold them. */
export interface TlogEntryJson {
  logIndex: string;
  logId: { keyId: string };
  kindVersion: { kind: string; version: string };
  integratedTime: string;
  inclusionPromise: { signedEntryTimestamp: string };
  inclusionProof?: {
    logIndex: string;
    rootHash: string;
    treeSize: string;
    hashes: string[];
    checkpoint: { envelope: string };
  };
  canonicalizedBody: string;
}

export interface DsseEnvelopeJson {
  payload: string;
  payloadType: string;
  signatures: { keyid: string; sig: string }[];
}

export interface BundleJson {
  mediaType: string;
  verificationMaterial: {
    x509CertificateChain?: { certificates: { rawBytes: string }[] };
    certificate?: { rawBytes: string };
    tlogEntries: TlogEntryJson[];
    timestampVerificationData?: { rfc3161Timestamps: { signedTimestamp: string }[] };
  };
  messageSignature?: { messageDigest: { algorithm: string; digest: string }; signature: string };
  dsseEnvelope?: DsseEnvelopeJson;
}

/** cosign's legacy `dev.sigstore.cosign/bundle` annotation value (before JSON.stringify). */
export interface CosignLegacyBundle {
  SignedEntryTimestamp: string;
  Payload: { body: string; integratedTime: number; logIndex: number; logID: string };
}

interface SignedCommon {
  certificate: IssuedCertificate;
  /** intermediate then root, PEM (cosign's chain annotation) */
  chainPem: string;
  /** raw signature (DER ECDSA) */
  signature: Buffer;
  tlogEntry: LoggedEntry;
  bundle(version?: BundleVersion): BundleJson;
  /** the entry as Rekor's REST API returns it, keyed by entry id */
  rekorApiEntry(): RekorApiEntry;
  cosignBundleAnnotation(): CosignLegacyBundle;
  /** annotations of the cosign tag-scheme layer (`.sig` or `.att`) */
  ociAnnotations(): Record<string, string>;
}

export interface BlobSigning extends SignedCommon {
  artifact: Buffer;
  digest: Buffer;
  /** `cosign sign-blob --output-signature`: base64 of the DER signature */
  cosignSig: string;
  /** `cosign sign-blob --output-certificate`: base64 of the PEM text */
  cosignPem: string;
}

export interface DsseSigning extends SignedCommon {
  payload: Buffer;
  payloadType: string;
  envelope: DsseEnvelopeJson;
  /** the envelope bytes that were logged (Rekor hashes them) and that cosign stores as the `.att` layer */
  envelopeBytes: Buffer;
  /** slsa-github-generator <= v2.0.0 `.intoto.jsonl` line: bare envelope, cert inline, no Rekor data */
  legacyEnvelope(): { payloadType: string; payload: string; signatures: { keyid: string; sig: string; cert: string }[] };
}

export interface TrustedRootJson {
  mediaType: string;
  tlogs: TransparencyLogInstanceJson[];
  certificateAuthorities: CertificateAuthorityJson[];
  ctlogs: TransparencyLogInstanceJson[];
  timestampAuthorities: CertificateAuthorityJson[];
}

interface TransparencyLogInstanceJson {
  baseUrl: string;
  hashAlgorithm: string;
  publicKey: { rawBytes: string; keyDetails: string; validFor: { start: string; end?: string } };
  logId: { keyId: string };
}

interface CertificateAuthorityJson {
  subject: { organization: string; commonName: string };
  uri: string;
  certChain: { certificates: { rawBytes: string }[] };
  validFor: { start: string; end?: string };
}

const b64 = (b: Buffer | string): string => Buffer.from(b).toString('base64');
const DAY = 86_400_000;

/** DSSE pre-authentication encoding: what a DSSE signature actually covers. */
export function pae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `),
    type,
    Buffer.from(` ${payload.length} `),
    payload,
  ]);
}

/** cosign's simple-signing payload for an image digest (what `.sig` layers hold). */
export function simpleSigningPayload(dockerReference: string, manifestDigest: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': dockerReference },
        image: { 'docker-manifest-digest': manifestDigest },
        type: 'cosign container image signature',
      },
      optional: null,
    }),
  );
}

/** An in-toto v1 statement as DSSE payload bytes. */
export function inTotoStatement(
  subjects: { name: string; sha256: string }[],
  predicateType: string,
  predicate: unknown,
): Buffer {
  return Buffer.from(
    JSON.stringify({
      _type: 'https://in-toto.io/Statement/v1',
      subject: subjects.map((s) => ({ name: s.name, digest: { sha256: s.sha256 } })),
      predicateType,
      predicate,
    }),
  );
}

export class SigningKit {
  private constructor(
    readonly now: Date,
    readonly validFrom: Date,
    readonly ca: FulcioCa,
    readonly foreignCa: FulcioCa,
    readonly rekor: TransparencyLog,
    readonly ctLog: CtLog,
  ) {}

  static async create(opts: KitOptions = {}): Promise<SigningKit> {
    const now = new Date(Math.floor((opts.now ?? new Date()).getTime() / 1000) * 1000);
    const validFrom = new Date(now.getTime() - 365 * DAY);
    const validTo = new Date(now.getTime() + 10 * 365 * DAY);
    const [ca, foreignCa] = await Promise.all([
      FulcioCa.create('kit.test', validFrom, validTo),
      FulcioCa.create('foreign.test', validFrom, validTo),
    ]);
    const rekor = new TransparencyLog(generateKitKey(), { hostname: opts.rekorHostname });
    return new SigningKit(now, validFrom, ca, foreignCa, rekor, new CtLog(generateKitKey()));
  }

  /** The private trust root in protobuf-specs TrustedRoot JSON form. */
  trustedRoot(): TrustedRootJson {
    const start = this.validFrom.toISOString();
    const logInstance = (baseUrl: string, spki: Buffer, keyId: Buffer): TransparencyLogInstanceJson => ({
      baseUrl,
      hashAlgorithm: 'SHA2_256',
      publicKey: { rawBytes: b64(spki), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: { start } },
      logId: { keyId: b64(keyId) },
    });
    return {
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [logInstance(this.rekor.baseUrl, this.rekor.key.spki, this.rekor.key.keyId)],
      certificateAuthorities: [
        {
          subject: { organization: this.ca.name, commonName: `${this.ca.name}-intermediate` },
          uri: 'https://fulcio.kit.test',
          certChain: { certificates: [{ rawBytes: b64(this.ca.intermediateDer) }, { rawBytes: b64(this.ca.rootDer) }] },
          validFor: { start },
        },
      ],
      ctlogs: [logInstance(this.ctLog.baseUrl, this.ctLog.key.spki, this.ctLog.key.keyId)],
      timestampAuthorities: [],
    };
  }

  /** A message signature over `data` (cosign sign-blob), logged as hashedrekord/0.0.1. */
  async signBlob(data: Buffer | string, opts: SignOptions = {}): Promise<BlobSigning> {
    const artifact = Buffer.from(data);
    const digest = createHash('sha256').update(artifact).digest();
    const { key, cert, ca } = await this.issueLeaf(opts);
    const signature = sign('sha256', artifact, key);
    const entry = this.log(hashedRekordBody(digest, signature, cert.pem), opts);
    const common = this.common(cert, ca, signature, entry, {
      messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: b64(digest) }, signature: b64(signature) },
    });
    return {
      ...common,
      artifact,
      digest,
      cosignSig: b64(signature),
      cosignPem: b64(cert.pem),
      ociAnnotations: () => ({ ...common.ociAnnotations(), 'dev.cosignproject.cosign/signature': b64(signature) }),
    };
  }

  /** A DSSE envelope over `payload`, logged as `opts.tlogKind` (default dsse/0.0.1). */
  async signDsse(payload: Buffer | string, payloadType = IN_TOTO_PAYLOAD_TYPE, opts: DsseSignOptions = {}): Promise<DsseSigning> {
    const body = Buffer.from(payload);
    const { key, cert, ca } = await this.issueLeaf(opts);
    const signature = sign('sha256', pae(payloadType, body), key);
    const envelope: DsseEnvelopeJson = {
      payloadType,
      payload: b64(body),
      signatures: [{ keyid: '', sig: b64(signature) }],
    };
    const envelopeBytes = Buffer.from(JSON.stringify(envelope));
    const parts: DsseParts = { envelopeBytes, payload: body, signature, certPem: cert.pem };
    const kind = opts.tlogKind ?? 'dsse/0.0.1';
    const entryBody =
      kind === 'dsse/0.0.1' ? dsseBody(parts) : kind === 'intoto/0.0.2' ? intotoV2Body(parts, payloadType) : intotoV1Body(parts);
    const entry = this.log(entryBody, opts);
    const common = this.common(cert, ca, signature, entry, { dsseEnvelope: envelope });
    const predicateType = readPredicateType(body);
    return {
      ...common,
      payload: body,
      payloadType,
      envelope,
      envelopeBytes,
      legacyEnvelope: () => ({
        payloadType,
        payload: envelope.payload,
        signatures: [{ keyid: '', sig: envelope.signatures[0].sig, cert: cert.pem }],
      }),
      ociAnnotations: () => ({
        ...common.ociAnnotations(),
        'dev.cosignproject.cosign/signature': '',
        ...(predicateType ? { predicateType } : {}),
      }),
    };
  }

  private async issueLeaf(opts: SignOptions) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const ca = opts.foreignCa ? this.foreignCa : this.ca;
    const cert = await ca.issue(spkiOf(privateKey), opts, this.ctLog, this.now);
    return { key: privateKey, cert, ca };
  }

  private log(entry: EntryBody, opts: SignOptions): LoggedEntry {
    const time = Math.floor((opts.integratedTime ?? this.now).getTime() / 1000);
    return this.rekor.append(entry.kind, entry.apiVersion, entry.body, time);
  }

  private common(
    cert: IssuedCertificate,
    ca: FulcioCa,
    signature: Buffer,
    entry: LoggedEntry,
    content: Pick<BundleJson, 'messageSignature' | 'dsseEnvelope'>,
  ): SignedCommon {
    const cosignBundleAnnotation = (): CosignLegacyBundle => ({
      SignedEntryTimestamp: b64(entry.signedEntryTimestamp),
      Payload: {
        body: b64(entry.body),
        integratedTime: entry.integratedTime,
        logIndex: entry.logIndex,
        logID: entry.logId.toString('hex'),
      },
    });
    return {
      certificate: cert,
      // cosign writes the chain annotation without a trailing newline
      chainPem: ca.chainPem.trimEnd(),
      signature,
      tlogEntry: entry,
      bundle: (version: BundleVersion = '0.3') => toBundle(version, cert, entry, content),
      rekorApiEntry: () => this.rekor.apiEntry(entry),
      cosignBundleAnnotation,
      ociAnnotations: () => ({
        'dev.sigstore.cosign/bundle': JSON.stringify(cosignBundleAnnotation()),
        'dev.sigstore.cosign/certificate': cert.pem,
        'dev.sigstore.cosign/chain': ca.chainPem.trimEnd(),
      }),
    };
  }
}

function toBundle(
  version: BundleVersion,
  cert: IssuedCertificate,
  entry: LoggedEntry,
  content: Pick<BundleJson, 'messageSignature' | 'dsseEnvelope'>,
): BundleJson {
  const p = entry.inclusionProof;
  const tlog: TlogEntryJson = {
    logIndex: String(entry.logIndex),
    logId: { keyId: b64(entry.logId) },
    kindVersion: { kind: entry.kind, version: entry.apiVersion },
    integratedTime: String(entry.integratedTime),
    inclusionPromise: { signedEntryTimestamp: b64(entry.signedEntryTimestamp) },
    // v0.1 bundles predate checkpoints: the SET is their only inclusion evidence
    ...(version === '0.1'
      ? {}
      : {
          inclusionProof: {
            logIndex: String(p.treeIndex),
            rootHash: b64(p.rootHash),
            treeSize: String(p.treeSize),
            hashes: p.hashes.map((h) => b64(h)),
            checkpoint: { envelope: p.checkpoint },
          },
        }),
    canonicalizedBody: b64(entry.body),
  };
  return {
    mediaType: BUNDLE_MEDIA_TYPES[version],
    verificationMaterial: {
      // v0.1/v0.2 carry a chain (leaf only: sigstore-js rejects a root inside it); v0.3 a single certificate
      ...(version === '0.3'
        ? { certificate: { rawBytes: b64(cert.der) } }
        : { x509CertificateChain: { certificates: [{ rawBytes: b64(cert.der) }] } }),
      tlogEntries: [tlog],
    },
    ...structuredClone(content),
  };
}

function readPredicateType(payload: Buffer): string | undefined {
  try {
    const parsed: unknown = JSON.parse(payload.toString('utf8'));
    if (parsed && typeof parsed === 'object' && 'predicateType' in parsed && typeof parsed.predicateType === 'string') {
      return parsed.predicateType;
    }
  } catch {
    // not JSON: no predicate type annotation, as cosign does for non in-toto payloads
  }
  return undefined;
}

