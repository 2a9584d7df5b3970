import { ASN1Obj, X509Certificate } from '@sigstore/core';
import type { SignerEvidence } from '../verdict';

/**
 * Fulcio's certificate extensions (github.com/sigstore/fulcio docs/oid-info.md). The v1 ones
 * (…1.1 to …1.6) hold raw bytes; v2 (…1.8 and up) hold a DER UTF8String.
 */
const FULCIO_V1_EXTENSIONS: Record<string, string> = {
  '1.3.6.1.4.1.57264.1.2': 'githubWorkflowTrigger',
  '1.3.6.1.4.1.57264.1.3': 'githubWorkflowSHA',
  '1.3.6.1.4.1.57264.1.4': 'githubWorkflowName',
  '1.3.6.1.4.1.57264.1.5': 'githubWorkflowRepository',
  '1.3.6.1.4.1.57264.1.6': 'githubWorkflowRef',
};

const FULCIO_V2_EXTENSIONS: Record<string, string> = {
  '1.3.6.1.4.1.57264.1.9': 'buildSignerURI',
  '1.3.6.1.4.1.57264.1.10': 'buildSignerDigest',
  '1.3.6.1.4.1.57264.1.11': 'runnerEnvironment',
  '1.3.6.1.4.1.57264.1.12': 'sourceRepositoryURI',
  '1.3.6.1.4.1.57264.1.13': 'sourceRepositoryDigest',
  '1.3.6.1.4.1.57264.1.14': 'sourceRepositoryRef',
  '1.3.6.1.4.1.57264.1.15': 'sourceRepositoryIdentifier',
  '1.3.6.1.4.1.57264.1.16': 'sourceRepositoryOwnerURI',
  '1.3.6.1.4.1.57264.1.17': 'sourceRepositoryOwnerIdentifier',
  '1.3.6.1.4.1.57264.1.18': 'buildConfigURI',
  '1.3.6.1.4.1.57264.1.19': 'buildConfigDigest',
  '1.3.6.1.4.1.57264.1.20': 'buildTrigger',
  '1.3.6.1.4.1.57264.1.21': 'runInvocationURI',
  '1.3.6.1.4.1.57264.1.22': 'sourceRepositoryVisibilityAtSigning',
};

const OID_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1';
const OID_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8';

/** Reads the signer's identity, issuer and Fulcio extensions from an (already verified) leaf. */
export function signerEvidenceFromCertificate(cert: X509Certificate): SignerEvidence {
  const extensions: Record<string, string> = {};
  for (const [oid, name] of Object.entries(FULCIO_V1_EXTENSIONS)) {
    const value = rawExtension(cert, oid);
    if (value !== undefined) extensions[name] = value;
  }
  for (const [oid, name] of Object.entries(FULCIO_V2_EXTENSIONS)) {
    const value = utf8StringExtension(cert, oid);
    if (value !== undefined) extensions[name] = value;
  }
  // v2 is authoritative; v1 (raw bytes) only appears in older certificates.
  const issuer = utf8StringExtension(cert, OID_ISSUER_V2) ?? rawExtension(cert, OID_ISSUER_V1);
  if (issuer !== undefined) extensions.issuer = issuer;
  return {
    identity: subjectAlternativeName(cert),
    identityKind: cert.extSubjectAltName?.uri !== undefined ? 'uri' : cert.extSubjectAltName?.rfc822Name !== undefined ? 'email' : undefined,
    issuer,
    extensions,
    certificateSerial: cert.serialNumber.toString('hex'),
    certificateNotBefore: cert.notBefore.toISOString(),
    certificateNotAfter: cert.notAfter.toISOString(),
  };
}

/** URI SAN for workload identities, e-mail SAN for people; Fulcio issues exactly one. */
export function subjectAlternativeName(cert: X509Certificate): string | undefined {
  const san = cert.extSubjectAltName;
  return san?.uri ?? san?.rfc822Name;
}

function rawExtension(cert: X509Certificate, oid: string): string | undefined {
  const ext = cert.extension(oid);
  return ext ? ext.value.toString('utf8') : undefined;
}

function utf8StringExtension(cert: X509Certificate, oid: string): string | undefined {
  const ext = cert.extension(oid);
  if (!ext) return undefined;
  try {
    return ASN1Obj.parseBuffer(ext.value as Buffer<ArrayBuffer>).value.toString('utf8');
  } catch {
    // A malformed extension is treated as absent: identity checks then fail closed.
    return undefined;
  }
}
