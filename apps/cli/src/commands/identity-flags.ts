import { type KeyObject, createPublicKey } from 'node:crypto';
import { type IdentityPolicy, VerificationError, exactly, matching, regexpWarnings } from '@provwatch/verification';
import { readEvidenceFile } from '../io/local-files';
import { UsageError } from '../cli.error';
import { exactlyOne } from './parse-flags';

/** cosign's identity flags (IDENTITY_FLAGS): one identity flag and one issuer flag, exact or regexp. */
export function identityPolicyFromFlags(values: Record<string, unknown>, warn: (m: string) => void): IdentityPolicy {
  const subjectFlag = exactlyOne(values, ['certificate-identity', 'certificate-identity-regexp']);
  const issuerFlag = exactlyOne(values, ['certificate-oidc-issuer', 'certificate-oidc-issuer-regexp']);
  const subjectValue = String(values[subjectFlag]);
  const issuerValue = String(values[issuerFlag]);
  if (subjectValue === '' || issuerValue === '') throw new UsageError('identity and issuer must not be empty');
  try {
    if (subjectFlag.endsWith('-regexp')) regexpWarnings(subjectValue).forEach((w) => warn(`warning: ${w}`));
    return {
      subject: subjectFlag.endsWith('-regexp') ? matching(subjectValue) : exactly(subjectValue),
      issuer: issuerFlag.endsWith('-regexp') ? matching(issuerValue) : exactly(issuerValue),
    };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/**
 * `--key PEM` or cosign's identity flags, never both: a key replaces the keyless identity (the
 * bundle must then carry a public-key hint, not a certificate; threat: a certificate-signed bundle
 * passing for "signed by this key" because the key flag was ignored).
 */
export async function keyOrIdentity(values: Record<string, unknown>, warn: (m: string) => void): Promise<{ identity?: IdentityPolicy; publicKey?: KeyObject }> {
  if (values.key === undefined) return { identity: identityPolicyFromFlags(values, warn) };
  const identityGiven = ['certificate-identity', 'certificate-identity-regexp', 'certificate-oidc-issuer', 'certificate-oidc-issuer-regexp'].some((f) => values[f] !== undefined);
  if (identityGiven) throw new UsageError('--key and the --certificate-identity/--certificate-oidc-issuer flags are mutually exclusive');
  const pem = await readEvidenceFile(String(values.key), MAX_PUBLIC_KEY_BYTES);
  try {
    return { publicKey: createPublicKey(pem) };
  } catch (err) {
    throw new VerificationError('input-unreadable', `${String(values.key)} is not a PEM public key: ${(err as Error).message.split('\n')[0]}`);
  }
}

/** A PEM public key is well under 1 KiB (RSA-4096: about 800 bytes). */
const MAX_PUBLIC_KEY_BYTES = 64 * 1024;
