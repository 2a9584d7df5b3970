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

  test('service settings for the API, alerts, queues and the trust root', () => {
    const db = { DATABASE_URL: 'postgresql://postgres@127.0.0.1/provwatch' };
    const c = loadServiceConfig(db);
    assert.equal(c.apiReadAuth, false);
    assert.equal(c.queuePrefix, 'provwatch');
    assert.equal(c.alertResendIntervalSeconds, 60);
    assert.equal(c.trustRootRefreshSeconds, 21_600);
    const set = loadServiceConfig({ ...db, PROVWATCH_API_TOKEN: 'a-long-enough-token', PROVWATCH_API_READ_AUTH: 'true', PROVWATCH_QUEUE_PREFIX: 'staging', PROVWATCH_PUBLIC_URL: 'https://provwatch.example.net/' });
    assert.equal(set.apiReadAuth, true);
    assert.equal(set.queuePrefix, 'staging');
    assert.equal(set.publicUrl, 'https://provwatch.example.net');
    try {
      loadServiceConfig({ ...db, PROVWATCH_API_READ_AUTH: 'yes please', PROVWATCH_QUEUE_PREFIX: 'a:b', PROVWATCH_TRUST_ROOT_REFRESH: '5' });
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems.map((p) => p.field).sort(), ['PROVWATCH_API_READ_AUTH', 'PROVWATCH_QUEUE_PREFIX', 'PROVWATCH_TRUST_ROOT_REFRESH']);
    }
    assert.throws(() => loadServiceConfig({ ...db, PROVWATCH_API_READ_AUTH: 'true' }), /needs PROVWATCH_API_TOKEN/);
  });

  test('bounds on the work of one verification: deadlines and the evidence budget', () => {
    const db = { DATABASE_URL: 'postgresql://postgres@127.0.0.1/provwatch' };
    const c = loadServiceConfig(db);
    assert.equal(c.verifyDeadlineSeconds, 600);
    assert.equal(c.downloadDeadlineSeconds, 300);
    assert.equal(c.evidenceBudgetMiB, 64);
    const set = loadServiceConfig({ ...db, PROVWATCH_VERIFY_DEADLINE: '30', PROVWATCH_DOWNLOAD_DEADLINE: '10', PROVWATCH_EVIDENCE_BUDGET: '16' });
    assert.deepEqual([set.verifyDeadlineSeconds, set.downloadDeadlineSeconds, set.evidenceBudgetMiB], [30, 10, 16]);
    try {
      loadServiceConfig({ ...db, PROVWATCH_VERIFY_DEADLINE: '0', PROVWATCH_DOWNLOAD_DEADLINE: 'soon', PROVWATCH_EVIDENCE_BUDGET: '-1' });
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems.map((p) => p.field).sort(), ['PROVWATCH_DOWNLOAD_DEADLINE', 'PROVWATCH_EVIDENCE_BUDGET', 'PROVWATCH_VERIFY_DEADLINE']);
    }
  });

  test('job lock and stalled-job check: production defaults, shortened for fault tests, bounded', () => {
    const db = { DATABASE_URL: 'postgresql://postgres@127.0.0.1/provwatch' };
    const c = loadServiceConfig(db);
    assert.equal(c.jobLockDurationSeconds, 60);
    assert.equal(c.jobStalledIntervalSeconds, 30);
    const short = loadServiceConfig({ ...db, PROVWATCH_JOB_LOCK_DURATION: '4', PROVWATCH_JOB_STALLED_INTERVAL: '1' });
    assert.equal(short.jobLockDurationSeconds, 4);
    assert.equal(short.jobStalledIntervalSeconds, 1);
    // A lock under 2 s would be renewed every second or less: a busy event loop would lose it.
    assert.throws(() => loadServiceConfig({ ...db, PROVWATCH_JOB_LOCK_DURATION: '1', PROVWATCH_JOB_STALLED_INTERVAL: '0' }), (err: unknown) =>
      err instanceof ConfigError && err.problems.map((p) => p.field).sort().join() === 'PROVWATCH_JOB_LOCK_DURATION,PROVWATCH_JOB_STALLED_INTERVAL');
  });

  test('LOG_LEVEL and LOG_FORMAT: a typo is refused, not silently read as the default', () => {
    const db = { DATABASE_URL: 'postgresql://postgres@127.0.0.1/provwatch' };
    assert.doesNotThrow(() => loadServiceConfig({ ...db, LOG_LEVEL: 'debug', LOG_FORMAT: 'json' }));
    assert.throws(() => loadServiceConfig({ ...db, LOG_LEVEL: 'verbose', LOG_FORMAT: 'text' }), (err: unknown) =>
      err instanceof ConfigError && err.problems.map((p) => p.field).sort().join() === 'LOG_FORMAT,LOG_LEVEL');
  });
});
