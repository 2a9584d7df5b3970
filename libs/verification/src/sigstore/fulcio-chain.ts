import { EXTENSION_OID_SCT, X509Certificate as CoreCertificate } from '@sigstore/core';
import type { TrustedRoot } from '@sigstore/protobuf-specs';
import type { TrustMaterial } from '@sigstore/verify';
import { type KeyObject, X509Certificate as NodeCertificate, createHash, verify as cryptoVerify } from 'node:crypto';
import { VerificationError } from '../verdict';
import { DerError, oidValueBytes, tbsCertificateBytes, tbsWithoutExtension } from './der';
import { type CertificateFields, type EmbeddedSct, authorityKeyIdentifier, embeddedScts, sctHashAlgorithm, sctSignedData, sctTime } from './x509-fields';

type CtLog = TrustMaterial['ctlogs'][number];

/**
 * A certificate of the trust root's certificate authorities, parsed once per trust root: its
 * public key is a ready KeyObject, names and key identifiers are the certificate's own bytes.
 */
export interface CaCertificate {
  der: Buffer;
  node: NodeCertificate;
  key: KeyObject;
  subject: Buffer;
  issuer: Buffer;
  subjectKeyId?: Buffer;
  authorityKeyId?: Buffer;
  notBefore: Date;
  notAfter: Date;
  isCA: boolean;
  pathLength?: number;
  selfSigned: boolean;
  /** SHA-256 of the SubjectPublicKeyInfo: the issuer_key_hash of an RFC 6962 precertificate entry. */
  spkiSha256: Buffer;
}

/** The bundle's leaf certificate, parsed once per verification (x509-fields.ts and node:crypto, same bytes). */
export interface LeafCertificate {
  der: Buffer;
  fields: CertificateFields;
  node: NodeCertificate;
  key: KeyObject;
  tbs: Buffer;
  issuer: Buffer;
  authorityKeyId?: Buffer;
  notBefore: Date;
  notAfter: Date;
}

type IssuerPath = { ok: true; path: CaCertificate[] } | { ok: false; reason: string };

interface Authority {
  index: number;
  validFor: { start: Date; end: Date };
  certificates: CaCertificate[] | { unusable: string };
  /** issuer → root paths already verified, keyed by the issuer's exact DER (base64). */
  paths: Map<string, IssuerPath>;
}

const SCT_OID = oidValueBytes(EXTENSION_OID_SCT);

/**
 * Fulcio certificate chains checked on node:crypto with the trust root's side of the chain
 * verified once. What @sigstore/verify does per bundle (re-encoding every certificate to DER to
 * compare it, re-verifying the intermediate's and root's signatures, re-parsing their keys) is
 * done here once per trust root; a refreshed trust root is a new SigstoreTrustRoot and so starts
 * with an empty cache. What stays per bundle, because it depends on the bundle: the leaf's
 * signature by its issuer, every validity window at every verified time (leaf, intermediate,
 * root, and the CA's window in the trust root), and the SCTs. The rules are sigstore-js's
 * (key/certificate.js): issuer found by key identifier and name, every certificate above the
 * leaf a CA, path length constraints, a path ending in a self-signed root of the same CA.
 * Threat: a cache that let an unverified or expired chain through, so nothing time-dependent is
 * cached and the cache holds only certificates that came from the trust root itself.
 */
export class FulcioChainVerifier {
  private readonly authorities: Authority[];

  constructor(trustedRoot: TrustedRoot, material: TrustMaterial) {
    this.authorities = material.certificateAuthorities.map((ca, index) => ({
      index,
      validFor: ca.validFor,
      certificates: caCertificates(trustedRoot.certificateAuthorities[index]?.certChain?.certificates ?? [], ca.certChain),
      paths: new Map(),
    }));
  }

  /** Is `der` byte-for-byte a certificate of one of the trust root's certificate authorities? */
  isTrustRootCertificate(der: Buffer): boolean {
    return this.authorities.some((a) => Array.isArray(a.certificates) && a.certificates.some((c) => c.der.equals(der)));
  }

  /**
   * The leaf as read by x509-fields.ts, parsed by node:crypto too (both parsers see the same
   * bytes); a leaf node:crypto cannot read is refused.
   */
  leaf(fields: CertificateFields): LeafCertificate {
    try {
      const node = new NodeCertificate(fields.der);
      const aki = authorityKeyIdentifier(fields);
      return {
        der: fields.der,
        fields,
        node,
        key: node.publicKey,
        tbs: fields.tbs,
        issuer: fields.issuer,
        authorityKeyId: aki && aki.length > 0 ? aki : undefined,
        notBefore: fields.notBefore,
        notAfter: fields.notAfter,
      };
    } catch (err) {
      const why = err instanceof DerError ? `: ${err.message}` : '';
      throw new VerificationError('certificate-invalid', `the bundle's leaf certificate is not a valid DER X.509 certificate${why}`);
    }
  }

  /**
   * Verifies the leaf's chain at one verified time and returns the certificate that issued it.
   * `signedBy` memoizes the leaf's signature check per issuer within one verification (several
   * timestamps, one leaf). Throws `certificate-chain-invalid`.
   */
  verifyAt(leaf: LeafCertificate, at: Date, signedBy: Map<CaCertificate, boolean>): CaCertificate {
    const authorities = this.authorities.filter((a) => a.validFor.start <= at && at <= a.validFor.end);
    if (authorities.length === 0) {
      throw chainError(`no certificate authority of the trust root is valid at ${at.toISOString()}`);
    }
    let reason = 'no certificate authority of the trust root issued the leaf certificate';
    for (const authority of authorities) {
      if (!Array.isArray(authority.certificates)) {
        reason = authority.certificates.unusable;
        continue;
      }
      for (const candidate of authority.certificates) {
        if (!mayHaveIssued(candidate, leaf)) continue;
        let signed = signedBy.get(candidate);
        if (signed === undefined) signedBy.set(candidate, (signed = signatureVerifies(leaf.node, candidate.key)));
        if (!signed) {
          reason = 'the leaf certificate is not signed by the certificate authority named as its issuer';
          continue;
        }
        const path = this.issuerPath(authority, candidate);
        if (!path.ok) {
          reason = path.reason;
          continue;
        }
        if (!(leaf.notBefore <= at && at <= leaf.notAfter)) {
          reason = `the leaf certificate (valid ${leaf.notBefore.toISOString()} to ${leaf.notAfter.toISOString()}) is not valid at ${at.toISOString()}`;
          continue;
        }
        const expired = path.path.find((c) => !(c.notBefore <= at && at <= c.notAfter));
        if (expired) {
          reason = `a certificate authority certificate (valid ${expired.notBefore.toISOString()} to ${expired.notAfter.toISOString()}) is not valid at ${at.toISOString()}`;
          continue;
        }
        return candidate;
      }
    }
    throw chainError(reason);
  }

  /** The verified path from `issuer` to its root, computed once per issuer certificate. */
  private issuerPath(authority: Authority, issuer: CaCertificate): IssuerPath {
    const key = issuer.der.toString('base64');
    let path = authority.paths.get(key);
    if (!path) {
      path = checkedIssuerPath(issuer, authority.certificates as CaCertificate[]);
      authority.paths.set(key, path);
    }
    return path;
  }
}

function caCertificates(raws: Array<{ rawBytes: Uint8Array }>, parsed: CoreCertificate[]): CaCertificate[] | { unusable: string } {
  if (raws.length !== parsed.length) return { unusable: 'the trust root certificate authority could not be read' };
  try {
    return parsed.map((core, i) => {
      const der = Buffer.from(raws[i].rawBytes);
      const node = new NodeCertificate(der);
      tbsCertificateBytes(der); // strict DER, as for the leaf
      const ski = core.extSubjectKeyID?.keyIdentifier;
      const aki = core.extAuthorityKeyID?.keyIdentifier;
      const selfIssued = core.subject.equals(core.issuer);
      return {
        der,
        node,
        key: node.publicKey,
        subject: core.subject,
        issuer: core.issuer,
        subjectKeyId: ski && ski.length > 0 ? ski : undefined,
        authorityKeyId: aki && aki.length > 0 ? aki : undefined,
        notBefore: core.notBefore,
        notAfter: core.notAfter,
        isCA: core.isCA,
        pathLength: core.extBasicConstraints?.pathLenConstraint === undefined ? undefined : Number(core.extBasicConstraints.pathLenConstraint),
        selfSigned: selfIssued && signatureVerifies(node, node.publicKey),
        spkiSha256: createHash('sha256').update(core.publicKey).digest(),
      };
    });
  } catch {
    return { unusable: 'a certificate of the trust root certificate authority is not a valid DER X.509 certificate' };
  }
}

/**
 * Could `parent` have issued `child`: its subject is the child's issuer name (byte-equal), and
 * where both carry key identifiers they match (RFC 5280 section 4.2.1.1). The signature decides.
 */
function mayHaveIssued(parent: CaCertificate, child: { issuer: Buffer; authorityKeyId?: Buffer }): boolean {
  if (!parent.subject.equals(child.issuer)) return false;
  return !(child.authorityKeyId && parent.subjectKeyId) || parent.subjectKeyId.equals(child.authorityKeyId);
}

function signatureVerifies(cert: NodeCertificate, key: KeyObject): boolean {
  try {
    return cert.verify(key);
  } catch {
    return false; // a key of the wrong type or a malformed signature: not signed by it
  }
}

/**
 * The shortest path of certificates of the same CA from `issuer` up to a self-signed root, each
 * signed by the next, then sigstore-js's path checks with the leaf at depth 0: every certificate
 * on the path a CA, and each pathLenConstraint at least the number of CA certificates below it.
 */
function checkedIssuerPath(issuer: CaCertificate, pool: CaCertificate[]): IssuerPath {
  const path = shortestPathToRoot(issuer, pool, new Set());
  if (!path) return { ok: false, reason: 'no trusted certificate path found: the issuer does not chain to a self-signed root of the trust root' };
  for (let k = 0; k < path.length; k++) {
    const cert = path[k];
    if (!cert.isCA) return { ok: false, reason: 'intermediate certificate is not a CA' };
    // chain position k + 1 (the leaf is 0): k CA certificates sit between it and the leaf
    if (cert.pathLength !== undefined && cert.pathLength < k) return { ok: false, reason: 'path length constraint exceeded' };
  }
  return { ok: true, path };
}

function shortestPathToRoot(cert: CaCertificate, pool: CaCertificate[], seen: Set<CaCertificate>): CaCertificate[] | undefined {
  if (cert.selfSigned) return [cert];
  seen.add(cert);
  let best: CaCertificate[] | undefined;
  for (const parent of pool) {
    if (seen.has(parent) || !mayHaveIssued(parent, cert) || !signatureVerifies(cert.node, parent.key)) continue;
    const rest = shortestPathToRoot(parent, pool, seen);
    if (rest && (!best || rest.length + 1 < best.length)) best = [cert, ...rest];
  }
  seen.delete(cert);
  return best;
}

/**
 * RFC 6962 SCTs embedded in the leaf, each verified against a CT log of the trust root that is
 * valid at the SCT's time, over the precertificate entry (issuer key hash, TBS without the SCT
 * extension) built from the leaf's own bytes. As sigstore-js: every SCT present must verify,
 * one log counts once, and at least `threshold` are required.
 */
export function verifyEmbeddedScts(leaf: LeafCertificate, issuer: CaCertificate, ctlogs: CtLog[], threshold: number): void {
  let scts: EmbeddedSct[];
  try {
    scts = embeddedScts(leaf.fields);
  } catch {
    throw new VerificationError('sct-invalid', "the leaf certificate's SCT extension cannot be read");
  }
  const logIds: Buffer[] = [];
  if (scts.length > 0) {
    let tbs: Buffer | undefined;
    try {
      tbs = tbsWithoutExtension(leaf.tbs, SCT_OID);
    } catch (err) {
      throw new VerificationError('certificate-invalid', `the leaf certificate's extensions cannot be read: ${(err as Error).message}`);
    }
    if (!tbs) throw new VerificationError('sct-invalid', "the leaf certificate's SCT extension cannot be located in its DER");
    const length = Buffer.from([(tbs.length >> 16) & 0xff, (tbs.length >> 8) & 0xff, tbs.length & 0xff]);
    const preCert = Buffer.concat([issuer.spkiSha256, length, tbs]);
    for (const sct of scts) {
      const time = sctTime(sct);
      const logs = ctlogs.filter((log) => log.logID.equals(sct.logID) && log.validFor.start <= time && time <= log.validFor.end);
      const signed = logs.length > 0 ? sctSignedData(sct, preCert) : undefined;
      if (!logs.some((log) => safeVerify(() => cryptoVerify(sctHashAlgorithm(sct), signed!, log.publicKey, sct.signature)))) {
        throw new VerificationError('sct-invalid', 'SCT verification failed: no CT log of the trust root valid at its time signed it');
      }
      if (logIds.some((id) => id.equals(sct.logID))) throw new VerificationError('sct-invalid', 'duplicate SCT: one CT log counts once');
      logIds.push(sct.logID);
    }
  }
  if (logIds.length < threshold) throw new VerificationError('sct-invalid', `expected ${threshold} SCTs, got ${logIds.length}`);
}

function safeVerify(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}

function chainError(reason: string): VerificationError {
  return new VerificationError('certificate-chain-invalid', `Failed to verify certificate chain: ${reason}`);
}
