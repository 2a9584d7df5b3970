import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseWwwAuthenticate } from './www-authenticate.parser';

describe('parseWwwAuthenticate', () => {
  it('parses a registry Bearer challenge', () => {
    assert.deepEqual(
      parseWwwAuthenticate('Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:org/repo:pull"'),
      [{ scheme: 'bearer', params: { realm: 'https://ghcr.io/token', service: 'ghcr.io', scope: 'repository:org/repo:pull' } }],
    );
  });

  it('parses several challenges, token values and escapes', () => {
    assert.deepEqual(parseWwwAuthenticate('Basic realm="a \\"b\\"", Bearer realm=https://x/t, error=invalid_token'), [
      { scheme: 'basic', params: { realm: 'a "b"' } },
      { scheme: 'bearer', params: { realm: 'https://x/t', error: 'invalid_token' } },
    ]);
  });

  it('keeps scope lists with commas inside quotes', () => {
    const [c] = parseWwwAuthenticate('Bearer realm="r",scope="repository:a:pull,push repository:b:pull"');
    assert.equal(c.params.scope, 'repository:a:pull,push repository:b:pull');
  });

  it('survives garbage', () => {
    assert.deepEqual(parseWwwAuthenticate(''), []);
    assert.deepEqual(parseWwwAuthenticate('Bearer realm="unterminated'), [{ scheme: 'bearer', params: {} }]);
    assert.deepEqual(parseWwwAuthenticate('"'), []);
    assert.equal(parseWwwAuthenticate('Bearer a='.padEnd(20000, 'x')).length, 0);
  });
});
