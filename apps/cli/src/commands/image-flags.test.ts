import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { UsageError } from '../cli.error';
import { registryLogins } from './image-flags';

/** Registry logins as cosign and crane find them: $DOCKER_CONFIG/config.json, else ~/.docker/config.json. */
describe('registryLogins', () => {
  const auth = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString('base64');
  const dir = () => mkdtempSync(join(tmpdir(), 'provwatch-docker-config-'));

  test('DOCKER_CONFIG wins over HOME; hosts are matched without scheme or path, case-insensitively', () => {
    const config = dir();
    writeFileSync(join(config, 'config.json'), JSON.stringify({ auths: { 'https://GHCR.io/v2/': { auth: auth('bot', 'ghp_secret') } } }));
    const home = dir();
    mkdirSync(join(home, '.docker'));
    writeFileSync(join(home, '.docker', 'config.json'), JSON.stringify({ auths: { 'ghcr.io': { auth: auth('other', 'x') } } }));
    const logins = registryLogins({ DOCKER_CONFIG: config, HOME: home }, () => undefined);
    assert.deepEqual(logins.get('ghcr.io'), { username: 'bot', password: 'ghp_secret' });
    assert.deepEqual(registryLogins({ HOME: home }, () => undefined).get('ghcr.io'), { username: 'other', password: 'x' });
  });

  test('no config file: anonymous, silently', () => {
    const warnings: string[] = [];
    assert.equal(registryLogins({ DOCKER_CONFIG: dir() }, (m) => warnings.push(m)).size, 0);
    assert.deepEqual(warnings, []);
  });

  test('credential helpers only: anonymous, with a note saying so', () => {
    const config = dir();
    writeFileSync(join(config, 'config.json'), JSON.stringify({ credsStore: 'desktop' }));
    const warnings: string[] = [];
    assert.equal(registryLogins({ DOCKER_CONFIG: config }, (m) => warnings.push(m)).size, 0);
    assert.match(warnings.join('\n'), /credential helpers are not used/);
  });

  test('a broken file is a usage error naming the file, never the secret', () => {
    const config = dir();
    writeFileSync(join(config, 'config.json'), JSON.stringify({ auths: { 'ghcr.io': { auth: Buffer.from('no-colon-ghp_secret').toString('base64') } } }));
    assert.throws(
      () => registryLogins({ DOCKER_CONFIG: config }, () => undefined),
      (err: unknown) => err instanceof UsageError && err.message.includes(join(config, 'config.json')) && !err.message.includes('ghp_secret'),
    );
    writeFileSync(join(config, 'config.json'), '{not json');
    assert.throws(() => registryLogins({ DOCKER_CONFIG: config }, () => undefined), UsageError);
  });
});
