import { type IdentityPolicy, exactly, matching, regexpWarnings } from '@provwatch/verification';
import { UsageError } from '../cli.error';
import { exactlyOne } from './parse-flags';

export const IDENTITY_FLAGS = {
  'certificate-identity': { type: 'string' },
  'certificate-identity-regexp': { type: 'string' },
  'certificate-oidc-issuer': { type: 'string' },
  'certificate-oidc-issuer-regexp': { type: 'string' },
} as const;

/** cosign's identity flags: one identity flag and one issuer flag, exact or regexp. */
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
