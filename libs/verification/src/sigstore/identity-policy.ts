import { type SignerEvidence, VerificationError } from '../verdict';

/** A value that must equal a string or match a regular expression (as cosign's --x / --x-regexp). */
export type Matcher = { exact: string } | { regexp: RegExp };

/** Who must have signed: cosign's --certificate-identity[-regexp] and --certificate-oidc-issuer[-regexp]. */
export interface IdentityPolicy {
  subject: Matcher;
  issuer: Matcher;
}

export function exactly(value: string): Matcher {
  return { exact: value };
}

/**
 * Compiles a user-supplied identity regexp. It is evaluated as written, like cosign does (an
 * unanchored pattern matches anywhere); `regexpWarnings` says what is risky about it.
 */
export function matching(pattern: string): Matcher {
  try {
    return { regexp: new RegExp(pattern) };
  } catch (err) {
    throw new VerificationError('input-unreadable', `invalid regular expression ${JSON.stringify(pattern)}: ${(err as Error).message}`);
  }
}

/** Builds an anchored regexp that matches `literal` exactly; for patterns provwatch builds itself. */
export function anchoredLiteral(literal: string): RegExp {
  return new RegExp(`^${literal.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}$`);
}

/** Warnings for a user's identity regexp: unanchored patterns and unescaped dots are classic mistakes. */
export function regexpWarnings(pattern: string): string[] {
  const warnings: string[] = [];
  if (!pattern.startsWith('^') || !pattern.endsWith('$')) {
    warnings.push(`identity regexp ${JSON.stringify(pattern)} is not anchored with ^...$: it matches any identity that contains it`);
  }
  if (/(^|[^\\])\.(?![*+?{])/.test(pattern)) {
    warnings.push(`identity regexp ${JSON.stringify(pattern)} has unescaped dots: "." matches any character`);
  }
  return warnings;
}

export function describeMatcher(m: Matcher): string {
  return 'exact' in m ? JSON.stringify(m.exact) : `/${m.regexp.source}/`;
}

export function matches(m: Matcher, value: string | undefined): boolean {
  if (value === undefined) return false;
  if ('exact' in m) return m.exact === value;
  m.regexp.lastIndex = 0;
  return m.regexp.test(value);
}

/** Checks the verified signer against the policy. Issuer first: an identity is only meaningful per issuer. */
export function assertIdentity(signer: SignerEvidence, policy: IdentityPolicy): void {
  if (!matches(policy.issuer, signer.issuer)) {
    throw new VerificationError(
      'issuer-mismatch',
      `certificate issuer ${JSON.stringify(signer.issuer ?? null)} does not match ${describeMatcher(policy.issuer)}`,
    );
  }
  if (!matches(policy.subject, signer.identity)) {
    throw new VerificationError(
      'identity-mismatch',
      `certificate identity ${JSON.stringify(signer.identity ?? null)} does not match ${describeMatcher(policy.subject)}`,
    );
  }
}
