import type { VerdictVersions } from '@provwatch/observability';

/**
 * Turns a fake that returns every target's version on each call into a VerdictSource's
 * `versions()`: what moved since the previous call, and `all` on the first call or when the set
 * of targets changed, as libs/persistence's VerdictVersionFeed reports it from Postgres.
 */
export function reportChanges(read: () => Promise<Map<string, string>>): () => Promise<VerdictVersions> {
  let previous: Map<string, string> | undefined;
  return async () => {
    const versions = await read();
    const before = previous;
    previous = versions;
    if (!before || before.size !== versions.size || [...before.keys()].some((t) => !versions.has(t))) return { versions, changed: 'all' };
    return { versions, changed: new Set([...versions].filter(([t, v]) => before.get(t) !== v).map(([t]) => t)) };
  };
}
