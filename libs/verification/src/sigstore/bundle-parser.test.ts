import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { isBase64 } from './bundle-parser';

/** The rules isBase64 implements, written out on their own (standard with the length rule, or base64url). */
function base64Rules(value: string): boolean {
  const standard = /^[A-Za-z0-9+/]*(={0,2})$/.exec(value);
  if (standard) {
    const padding = standard[1].length;
    const rest = (value.length - padding) % 4;
    if (padding === 0 ? rest !== 1 : rest === 4 - padding) return true;
  }
  return /^[A-Za-z0-9_-]*={0,2}$/.test(value);
}

describe('bundle byte fields: base64', () => {
  test('the fast path (canonical encoding) accepts and refuses exactly what the rules do, for every short string', () => {
    // 'A' and 'g' decode to zero bits, 'B' and 'Q' leave bits set where padding follows; '-' and
    // '_' are base64url, '+' and '/' standard; '=' padding; '.', ' ' and 'é' are not base64 at all.
    const alphabet = ['A', 'g', 'B', 'Q', '+', '/', '-', '_', '=', '.', ' ', 'é'];
    let checked = 0;
    const visit = (prefix: string) => {
      assert.equal(isBase64(prefix), base64Rules(prefix), JSON.stringify(prefix));
      checked++;
      if (prefix.length < 5) for (const c of alphabet) visit(prefix + c);
    };
    visit('');
    assert.ok(checked > 200_000);
  });

  test('long values: canonical, unpadded, non-zero unused bits, url-safe, one bad character', () => {
    const bytes = Buffer.from(Array.from({ length: 10_001 }, (_, i) => (i * 7919) % 256));
    const std = bytes.toString('base64');
    const cases = [std, std.replace(/=+$/, ''), std.slice(0, -3) + 'B==', bytes.toString('base64url'), std.slice(0, 5000) + '.' + std.slice(5001), std.slice(0, 5000) + '\n' + std.slice(5000), std + '='];
    for (const value of cases) assert.equal(isBase64(value), base64Rules(value), `${value.length} chars ending ${JSON.stringify(value.slice(-4))}`);
    assert.equal(isBase64(std.slice(0, 5000) + '.' + std.slice(5001)), false);
    assert.equal(isBase64(std), true);
  });
});
