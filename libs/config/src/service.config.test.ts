import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { ConfigError } from './config.error';
import { loadServiceConfig } from './service.config';

describe('service environment', () => {
  test('defaults', () => {
    const c = loadServiceConfig({ DATABASE_URL: 'postgresql://postgres@127.0.0.1/provwatch' });
    assert.deepEqual(c.roles, ['api', 'worker']);
    assert.equal(c.port, 8080);
    assert.equal(c.githubApiUrl, 'https://api.github.com');
    assert.equal(c.redisUrl, 'redis://127.0.0.1:6379');
    assert.equal(c.watchlistPath, 'provwatch.yaml');
  });

  test('bad values are all reported, secrets never echoed', () => {
    try {
      loadServiceConfig({ PORT: 'eighty', PROVWATCH_ROLES: 'api,scheduler', GITHUB_API_URL: 'ftp://x', PROVWATCH_API_TOKEN: 'short-secret', ALERTMANAGER_URLS: 'nope' });
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      const fields = err.problems.map((p) => p.field).sort();
      assert.deepEqual(fields, ['ALERTMANAGER_URLS[0]', 'DATABASE_URL', 'GITHUB_API_URL', 'PORT', 'PROVWATCH_API_TOKEN', 'PROVWATCH_ROLES']);
      assert.ok(!err.message.includes('short-secret'));
    }
  });
});
