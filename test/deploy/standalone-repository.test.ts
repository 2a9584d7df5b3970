/**
 * The repository stands alone: no tracked file sends readers or tests to a folder beside the
 * clone, and docs/configuration.md documents every watchlist key the loader accepts and every
 * environment variable the service reads, both lists taken from the code itself.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { environmentVariables, watchlistKeys } from '../support/config-contract';

const ROOT = resolve(__dirname, '../../..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const CONFIGURATION = read('docs/configuration.md');

describe('a repository that stands alone', () => {
  test('no tracked file refers to a folder beside the clone', () => {
    // Built from parts so that this file does not match itself.
    const needles = ['..' + '/shared', 'shared' + '/vectors'];
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
    assert.ok(files.length > 100, 'git ls-files lists the repository');
    const offenders: string[] = [];
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(join(ROOT, file), 'utf8');
      } catch {
        continue; // deleted in the work tree
      }
      for (const needle of needles) if (text.includes(needle)) offenders.push(`${file}: ${needle}`);
    }
    assert.deepEqual(offenders, []);
  });

  test('the key and variable lists are really derived from the code', () => {
    const keys = watchlistKeys(read('libs/config/src/watchlist.loader.ts'));
    for (const k of ['defaults', 'targets', 'include_prereleases', 'keep_last', 'signatures_repository', 'sbom_repository', 'provenance_repository', 'provenance_policy', 'sbom_policy', 'poll_interval', 'grace_period', 'reverify_interval', 'identity', 'artifacts', 'images', 'subject_regexp', 'checksums'])
      assert.ok(keys.includes(k), k);
    const vars = environmentVariables(read('libs/config/src/service.config.ts'));
    for (const v of ['DATABASE_URL', 'REDIS_URL', 'PORT', 'PROVWATCH_CONFIG', 'GITHUB_TOKEN', 'DOCKER_CONFIG', 'PROVWATCH_TRUST_ROOT_REFRESH']) assert.ok(vars.includes(v), v);
    // The extraction can fail: a loader with an extra key the docs lack is caught.
    const undocumented = watchlistKeys("this.map(node, field, ['name', 'not_documented_anywhere'])").filter((k) => !new RegExp(`\`${k}\``).test(CONFIGURATION));
    assert.deepEqual(undocumented, ['not_documented_anywhere']);
  });

  test('docs/configuration.md documents every watchlist key the loader accepts', () => {
    const missing = watchlistKeys(read('libs/config/src/watchlist.loader.ts')).filter((k) => !new RegExp(`\`${k}\``).test(CONFIGURATION));
    assert.deepEqual(missing, []);
  });

  test('docs/configuration.md documents every environment variable service.config.ts reads', () => {
    const missing = environmentVariables(read('libs/config/src/service.config.ts')).filter((v) => !new RegExp(`\\|\\s*\`${v}\`\\s*\\|`).test(CONFIGURATION));
    assert.deepEqual(missing, []);
  });

  test('README and the default watchlist point at the docs, which exist', () => {
    const readme = read('README.md');
    assert.match(readme, /\(docs\/configuration\.md\)/);
    assert.match(readme, /\(docs\/architecture\.md\)/);
    assert.match(read('provwatch.yaml'), /docs\/configuration\.md/);
    assert.match(read('docs/architecture.md'), /^# Architecture/);
  });

  test('the examples in docs/configuration.md are valid watchlists (provwatch itself among them)', async () => {
    const { parseWatchlist } = await import('@provwatch/config');
    const blocks = [...CONFIGURATION.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]).filter((b) => b.startsWith('targets:'));
    assert.ok(blocks.length >= 4, 'pbs-exporter, provenance-only, image-only, provwatch');
    const names: string[] = [];
    for (const block of blocks) {
      const watchlist = parseWatchlist(block, 'docs/configuration.md', { baseDir: ROOT, readPolicy: () => 'true' });
      names.push(...watchlist.targets.map((t) => t.name));
    }
    assert.ok(names.includes('provwatch') && names.includes('pbs-exporter'), names.join(','));
  });
});
