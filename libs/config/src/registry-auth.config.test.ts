import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError } from './config.error';
import { loadRegistryAuthFile } from './registry-auth.config';

const dir = mkdtempSync(join(tmpdir(), 'provwatch-auth-'));
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

test('docker config.json logins: auth field or username/password, hosts normalised', () => {
  const logins = loadRegistryAuthFile(
    file('ok.json', JSON.stringify({ auths: { 'ghcr.io': { auth: Buffer.from('bot:ghp_secret:with:colons').toString('base64') }, 'https://Registry.Example.com/v2/': { username: 'u', password: 'p' } } })),
  );
  assert.deepEqual(logins.get('ghcr.io'), { username: 'bot', password: 'ghp_secret:with:colons' });
  assert.deepEqual(logins.get('registry.example.com'), { username: 'u', password: 'p' });
});

test('a broken entry or file is a config error that never shows a secret', () => {
  assert.throws(() => loadRegistryAuthFile(file('bad.json', JSON.stringify({ auths: { 'ghcr.io': { auth: Buffer.from('no-colon-secret').toString('base64') } } }))), (err: unknown) =>
    err instanceof ConfigError && err.problems[0].field === 'auths.ghcr.io' && !err.message.includes('no-colon-secret'));
  assert.throws(() => loadRegistryAuthFile(file('junk.json', '{')), ConfigError);
  assert.throws(() => loadRegistryAuthFile(join(dir, 'absent.json')), ConfigError);
});
