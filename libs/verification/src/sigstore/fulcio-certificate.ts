import { type SignerEvidence, VerificationError } from '../verdict';
import { readTlv } from './der';
import { type CertificateFields, type OidKey, oidKey, subjectAltNames } from './x509-fields';

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

type KnownExtension = { oid: string; key: OidKey; name: string };
const known = (names: Record<string, string>): KnownExtension[] => Object.entries(names).map(([oid, name]) => ({ oid, key: oidKey(oid), name }));
const V1_EXTENSIONS = known(FULCIO_V1_EXTENSIONS);
const V2_EXTENSIONS = known(FULCIO_V2_EXTENSIONS);
const ISSUER_V1 = { oid: OID_ISSUER_V1, key: oidKey(OID_ISSUER_V1) };
const ISSUER_V2 = { oid: OID_ISSUER_V2, key: oidKey(OID_ISSUER_V2) };

/**
 * Reads the signer's identity, issuer and Fulcio extensions from an (already verified) leaf,
 * read once by x509-fields.ts (extension values by OID, the first of an OID wins).
 */
export function signerEvidenceFromCertificate(cert: CertificateFields): SignerEvidence {
  const byOid = cert.extensions;
  const extensions: Record<string, string> = {};
  for (const ext of V1_EXTENSIONS) {
    const value = rawExtension(byOid, ext);
    if (value !== undefined) extensions[ext.name] = value;
  }
  for (const ext of V2_EXTENSIONS) {
    const value = utf8StringExtension(byOid, ext);
    if (value !== undefined) extensions[ext.name] = value;
  }
  // v2 is authoritative; v1 (raw bytes) only appears in older certificates. A certificate whose
  // two issuer claims disagree says two things at once (slsa-verifier refuses it too): forged or broken.
  const issuerV2 = utf8StringExtension(byOid, ISSUER_V2);
  const issuerV1 = rawExtension(byOid, ISSUER_V1);
  if (issuerV2 !== undefined && issuerV1 !== undefined && issuerV2 !== issuerV1) {
    throw new VerificationError('certificate-invalid', `the certificate's issuer extensions disagree: ${OID_ISSUER_V2} says ${JSON.stringify(issuerV2)}, ${OID_ISSUER_V1} says ${JSON.stringify(issuerV1)}`);
  }
  const issuer = issuerV2 ?? issuerV1;
  if (issuer !== undefined) extensions.issuer = issuer;
  const san = subjectAlternativeNameWithKind(cert);
  return {
    identity: san?.value,
    identityKind: san?.kind,
    issuer,
    extensions,
    certificateSerial: cert.serialNumber.toString('hex'),
    certificateNotBefore: cert.notBefore.toISOString(),
    certificateNotAfter: cert.notAfter.toISOString(),
  };
}

/** URI SAN for workload identities, e-mail SAN for people; Fulcio issues exactly one. */
export function subjectAlternativeName(cert: CertificateFields): string | undefined {
  return subjectAlternativeNameWithKind(cert)?.value;
}

/**
 * The SAN with the kind it came from. A workflow identity is only ever a URI SAN: an e-mail SAN
 * whose text looks like a workflow URI must not be read as one (the SLSA rules check the kind).
 * A SAN extension that is not a list of names fails the certificate (certificate-invalid).
 */
export function subjectAlternativeNameWithKind(cert: CertificateFields): { value: string; kind: 'uri' | 'email' } | undefined {
  let san: ReturnType<typeof subjectAltNames>;
  try {
    san = subjectAltNames(cert);
  } catch (err) {
    throw new VerificationError('certificate-invalid', `the certificate's SubjectAltName extension cannot be read: ${(err as Error).message}`);
  }
  if (san?.uri !== undefined) return { value: san.uri, kind: 'uri' };
  if (san?.rfc822Name !== undefined) return { value: san.rfc822Name, kind: 'email' };
  return undefined;
}

function rawExtension(byOid: ReadonlyMap<OidKey, Buffer>, ext: { key: OidKey }): string | undefined {
  return byOid.get(ext.key)?.toString('utf8');
}

const DER_UTF8_STRING = 0x0c;

/**
 * A v2 extension that is present must be exactly one DER UTF8String. Anything else fails the
 * certificate (certificate-invalid): treating it as absent would let a forged certificate fall
 * back to the v1 value (the issuer) or drop a claim the SLSA rules compare.
 */
function utf8StringExtension(byOid: ReadonlyMap<OidKey, Buffer>, { oid, key }: { oid: string; key: OidKey }): string | undefined {
  const bytes = byOid.get(key);
  if (!bytes) return undefined;
  let value: Buffer | undefined;
  try {
    // exactly one element, minimal length encoding (readTlv is strict DER), nothing after it
    const tlv = readTlv(bytes, 0);
    value = tlv.tag === DER_UTF8_STRING && tlv.end === bytes.length ? bytes.subarray(tlv.contentStart, tlv.end) : undefined;
  } catch {
    value = undefined;
  }
  if (!value) throw new VerificationError('certificate-invalid', `the certificate's extension ${oid} is not a DER UTF8String`);
  return value.toString('utf8');
}
