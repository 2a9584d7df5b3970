import { KeyObject, createPublicKey, randomBytes, sign, webcrypto } from 'node:crypto';

import './reflect-polyfill';

import * as x509 from '@peculiar/x509';

import { CtLog, sctListValue } from './ct-log';
import { appendExtension, assembleCertificate, extension, splitCertificate, utf8String } from './der';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

// The project compiles without DOM types; Node's webcrypto is what @peculiar/x509 runs on.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

export const OIDC_GITHUB = 'https://token.actions.githubusercontent.com';
export const OID_SCT_LIST = '1.3.6.1.4.1.11129.2.4.2';

/** The GitHub Actions claims Fulcio copies into its certificate extensions. */
export interface GithubClaims {
  /** owner/name */
  repository: string;
  repositoryId: string;
  ownerId: string;
  ref: string;
  sha: string;
  eventName: string;
  /** path of the caller's workflow file, e.g. .github/workflows/release.yml */
  workflowPath: string;
  runId: string;
  runAttempt: string;
  runnerEnvironment: string;
  visibility: string;
  /** commit of the workflow that signs (differs from sha for reusable workflows such as the SLSA generators) */
  signerSha: string;
}

export const DEFAULT_GITHUB_CLAIMS: GithubClaims = {
  repository: 'natrontech/pbs-exporter',
  repositoryId: '614342349',
  ownerId: '72906237',
  ref: 'refs/tags/v0.8.0',
  sha: '0123456789abcdef0123456789abcdef01234567',
  eventName: 'push',
  workflowPath: '.github/workflows/release.yml',
  runId: '8123456789',
  runAttempt: '1',
  runnerEnvironment: 'github-hosted',
  visibility: 'public',
  signerSha: '0123456789abcdef0123456789abcdef01234567',
};

export interface LeafOptions {
  /** SAN URI (workflow identity). Default: the caller's own workflow at its ref. */
  workflowUri?: string;
  /** e-mail SAN instead of a workflow URI; no GitHub extensions then unless `github` is given */
  email?: string;
  /** OIDC issuer written to the v1 and v2 issuer extensions */
  issuer?: string;
  github?: Partial<GithubClaims>;
  notBefore?: Date;
  notAfter?: Date;
  /** embed an SCT (default true) */
  sct?: boolean;
  /**
   * Fulcio extension values by the last OID arc ('8' for 1.3.6.1.4.1.57264.1.8), written as these
   * exact bytes instead of the normal encoding (a Buffer), or left out (null): forged certificates.
   */
  extensionBytes?: Record<string, Buffer | null>;
}

export interface IssuedCertificate {
  der: Buffer;
  pem: string;
}

export function toPem(der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${lines.join('\n')}\n-----END CERTIFICATE-----\n`;
}

/** A Fulcio stand-in: a root CA and an intermediate that issues short-lived leaves. */
export class FulcioCa {
  private constructor(
    readonly name: string,
    readonly root: x509.X509Certificate,
    readonly intermediate: x509.X509Certificate,
    private readonly intermediateKey: KeyObject,
    private readonly intermediateCryptoKey: CryptoKey,
    readonly validFrom: Date,
  ) {}

  static async create(name: string, validFrom: Date, validTo: Date): Promise<FulcioCa> {
    const rootKeys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
    const intKeys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
    const caUsage = new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true);
    const root = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '01',
      name: `O=${name}, CN=${name}-root`,
      notBefore: validFrom,
      notAfter: validTo,
      keys: rootKeys,
      signingAlgorithm: EC,
      extensions: [
        caUsage,
        new x509.BasicConstraintsExtension(true, 1, true),
        await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey),
      ],
    });
    const intermediate = await x509.X509CertificateGenerator.create({
      serialNumber: '02',
      subject: `O=${name}, CN=${name}-intermediate`,
      issuer: root.subject,
      notBefore: validFrom,
      notAfter: validTo,
      publicKey: intKeys.publicKey,
      signingKey: rootKeys.privateKey,
      signingAlgorithm: EC,
      extensions: [
        caUsage,
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning]),
        new x509.BasicConstraintsExtension(true, 0, true),
        await x509.SubjectKeyIdentifierExtension.create(intKeys.publicKey),
        await x509.AuthorityKeyIdentifierExtension.create(rootKeys.publicKey),
      ],
    });
    return new FulcioCa(name, root, intermediate, KeyObject.from(intKeys.privateKey), intKeys.privateKey, validFrom);
  }

  get rootDer(): Buffer {
    return Buffer.from(this.root.rawData);
  }

  get intermediateDer(): Buffer {
    return Buffer.from(this.intermediate.rawData);
  }

  /** cosign's `dev.sigstore.cosign/chain` form: intermediate then root, PEM. */
  get chainPem(): string {
    return toPem(this.intermediateDer) + toPem(this.rootDer);
  }

  /**
   * Issues a leaf like Fulcio's. The SCT is signed over the TBS without the SCT
   * extension, then the extension is appended and the TBS signed again.
   */
  async issue(leafSpki: Buffer, opts: LeafOptions, ctLog: CtLog, now: Date): Promise<IssuedCertificate> {
    const notBefore = opts.notBefore ?? new Date(now.getTime() - 60_000);
    const notAfter = opts.notAfter ?? new Date(notBefore.getTime() + 10 * 60_000);
    const serial = randomBytes(20);
    // positive and minimal: strict DER parsers (Go) reject a leading zero byte
    serial[0] = 0x40 | (serial[0] & 0x3f);
    const precert = await x509.X509CertificateGenerator.create({
      serialNumber: serial.toString('hex'),
      subject: '',
      issuer: this.intermediate.subject,
      notBefore,
      notAfter,
      publicKey: leafSpki,
      signingKey: this.intermediateCryptoKey,
      signingAlgorithm: EC,
      extensions: [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.codeSigning]),
        await x509.SubjectKeyIdentifierExtension.create(leafSpki),
        await x509.AuthorityKeyIdentifierExtension.create(this.intermediate.publicKey),
        ...identityExtensions(opts),
      ],
    });
    const { tbs, sigAlg } = splitCertificate(Buffer.from(precert.rawData));
    if (opts.sct === false) return toIssued(Buffer.from(precert.rawData));
    const sct = ctLog.signPrecert(Buffer.from(this.intermediate.publicKey.rawData), tbs, now.getTime());
    const finalTbs = appendExtension(tbs, extension(OID_SCT_LIST, sctListValue([sct])));
    const der = assembleCertificate(finalTbs, sigAlg, sign('sha256', finalTbs, this.intermediateKey));
    return toIssued(der);
  }
}

function toIssued(der: Buffer): IssuedCertificate {
  return { der, pem: toPem(der) };
}

/** SAN plus Fulcio's OIDC extensions, in Fulcio's order. */
function identityExtensions(opts: LeafOptions): x509.Extension[] {
  const issuer = opts.issuer ?? OIDC_GITHUB;
  const withGithub = opts.email === undefined || opts.github !== undefined;
  const c: GithubClaims = { ...DEFAULT_GITHUB_CLAIMS, ...opts.github };
  const repoUrl = `https://github.com/${c.repository}`;
  const buildConfig = `${repoUrl}/${c.workflowPath}@${c.ref}`;
  const san: x509.JsonGeneralName = opts.email
    ? { type: 'email', value: opts.email }
    : { type: 'url', value: opts.workflowUri ?? buildConfig };
  const raw = (id: string, v: string) => new x509.Extension(`1.3.6.1.4.1.57264.1.${id}`, false, Buffer.from(v, 'utf8'));
  // v2 extensions carry DER UTF8Strings; the deprecated v1 ones (.1 to .6) raw bytes.
  const utf8 = (id: string, v: string) => new x509.Extension(`1.3.6.1.4.1.57264.1.${id}`, false, utf8String(v));
  const exts: x509.Extension[] = [new x509.SubjectAlternativeNameExtension([san], true), raw('1', issuer)];
  if (withGithub) {
    exts.push(
      raw('2', c.eventName),
      raw('3', c.sha),
      raw('4', c.workflowPath),
      raw('5', c.repository),
      raw('6', c.ref),
    );
  }
  exts.push(utf8('8', issuer));
  if (withGithub) {
    exts.push(
      utf8('9', san.value),
      utf8('10', c.signerSha),
      utf8('11', c.runnerEnvironment),
      utf8('12', repoUrl),
      utf8('13', c.sha),
      utf8('14', c.ref),
      utf8('15', c.repositoryId),
      utf8('16', `https://github.com/${c.repository.split('/')[0]}`),
      utf8('17', c.ownerId),
      utf8('18', buildConfig),
      utf8('19', c.sha),
      utf8('20', c.eventName),
      utf8('21', `${repoUrl}/actions/runs/${c.runId}/attempts/${c.runAttempt}`),
      utf8('22', c.visibility),
    );
  }
  const overrides = opts.extensionBytes ?? {};
  return exts.flatMap((e) => {
    const arc = e.type.startsWith('1.3.6.1.4.1.57264.1.') ? e.type.slice('1.3.6.1.4.1.57264.1.'.length) : undefined;
    if (arc === undefined || !Object.hasOwn(overrides, arc)) return [e];
    const bytes = overrides[arc];
    return bytes === null ? [] : [new x509.Extension(e.type, false, bytes)];
  });
}

export function spkiOf(key: KeyObject): Buffer {
  return createPublicKey(key).export({ format: 'der', type: 'spki' });
}
