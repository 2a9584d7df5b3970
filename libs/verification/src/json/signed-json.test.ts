import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { parseSignedJson } from './signed-json';

describe('signed JSON', () => {
  test('valid documents parse as JSON.parse reads them', () => {
    const text = '{"a":[{"b":1},{"b":2}],"c":{"a":"x, \\"a\\":"},"d":"}"}';
    assert.deepEqual(parseSignedJson(text), { value: JSON.parse(text) });
  });

  test('forged: a key twice in one object, at any depth or spelled with escapes, is refused', () => {
    for (const text of ['{"subject":[1],"subject":[2]}', '{"p":{"x":1,"y":{"z":1},"x":2}}', '[{"k":1},{"k":1,"k":2}]', '{"subject":1,"\\u0073ubject":2}']) {
      const r = parseSignedJson(text);
      assert.ok('reason' in r, text);
      assert.match(r.reason, /appears twice in one object/);
    }
  });

  test('not JSON: the reason names the problem, not the parser', () => {
    for (const [text, why] of [['\ufeff{}', /byte-order mark/], ['{"a":1', /malformed or truncated/], ['', /empty/], ['{"a":"\u0001"}', /control character at byte 6/]] as const) {
      const r = parseSignedJson(text);
      assert.ok('reason' in r);
      assert.match(r.reason, why);
      assert.doesNotMatch(r.reason, /Unexpected|position/);
    }
  });
});
