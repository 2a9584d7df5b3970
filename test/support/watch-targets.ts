import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
    expect: { coverage: 'listed' },
    images: [],
    pollIntervalSeconds: 3600,
    gracePeriodSeconds: 3600,
    reverifyIntervalSeconds: 86_400,
    warnings: [],
    ...overrides,
  };
}

export const EXAMPLE_PACKAGE_V14_COMMIT = '4d329c75e7ec1725f7c9ce917a8799d408d06be3';

/**
 * Release v14 of example-package as GitHub would hold it: the real generator v2.1.0 binary
 * (named as its provenance subject) and the provenance as `multiple.intoto.jsonl`.
 */
export function exampleRelease(binary: Buffer, provenance: Buffer, binaryUpdatedAt = '2025-02-25T21:05:00Z') {
  return {
    id: 14,
    tag: 'v14',
    publishedAt: '2025-02-25T21:00:00Z',
    // The commit the real provenance names (configSource and materials[0]).
    commit: EXAMPLE_PACKAGE_V14_COMMIT,
    assets: [
      { id: 1401, name: 'gha_generic-binary-linux-amd64-v14', bytes: binary, updatedAt: binaryUpdatedAt },
      { id: 1402, name: 'multiple.intoto.jsonl', bytes: provenance, updatedAt: '2025-02-25T21:06:00Z' },
    ],
  };
}

/** A watchlist file with pbs-exporter alone, polled hourly (service start-up and health tests). */
export function pbsExporterWatchlistFile(): string {
  const file = join(mkdtempSync(join(tmpdir(), 'provwatch-watchlist-')), 'provwatch.yaml');
  writeFileSync(
    file,
    `defaults:
  poll_interval: 1h
targets:
  - name: pbs-exporter
    github: natrontech/pbs-exporter
    identity:
      issuer: https://token.actions.githubusercontent.com
      subject_regexp: '^https://github\\.com/natrontech/pbs-exporter/\\.github/workflows/release\\.yml@refs/tags/v[0-9]+\\.[0-9]+\\.[0-9]+$'
`,
  );
  return file;
}

/** A watchlist of `example/<name>` targets (watchlist reload tests), polled every `pollInterval`. */
export function exampleWatchlistYaml(names: string[], pollInterval: string): string {
  return `defaults:
  poll_interval: ${pollInterval}
targets:
${names
  .map(
    (name) => `  - name: ${name}
    github: example/${name}
    identity:
      issuer: https://token.actions.githubusercontent.com
      subject: https://github.com/example/${name}/.github/workflows/release.yml@refs/heads/main
`,
  )
  .join('')}`;
}

/** The same with target `name` only and an unknown key (`isuer`) on line 7. */
export function invalidAtLine7WatchlistYaml(name: string, pollInterval: string): string {
  return exampleWatchlistYaml([name], pollInterval).replace('      issuer:', '      isuer:');
}
