import type { WatchTarget } from '@provwatch/config';

/** slsa-framework/example-package as a watched target, as the shared generator vectors were built. */
export function exampleTarget(overrides: Partial<WatchTarget> = {}): WatchTarget {
  return {
    name: 'example-package',
    github: 'slsa-framework/example-package',
    sourceUri: 'github.com/slsa-framework/example-package',
    releases: { includePrereleases: false, keepLast: 10 },
    identity: { issuer: 'https://token.actions.githubusercontent.com', subjectRegexp: '^https://github\\.com/slsa-framework/example-package/' },
    artifacts: { provenance: 'multiple.intoto.jsonl' },
    images: [],
    pollIntervalSeconds: 3600,
    gracePeriodSeconds: 3600,
    reverifyIntervalSeconds: 86_400,
    warnings: [],
    ...overrides,
  };
}
