import type { WatchTarget } from '@provwatch/config';
import { type IdentityPolicy, exactly, matching } from '@provwatch/verification';

/** The signer a target's watchlist entry promises (issuer plus exact identity or regexp, as written). */
export function identityOf(target: WatchTarget): IdentityPolicy {
  return {
    issuer: exactly(target.identity.issuer),
    subject: target.identity.subject !== undefined ? exactly(target.identity.subject) : matching(target.identity.subjectRegexp!),
  };
}
