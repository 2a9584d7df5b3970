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

  test('forged: strings ending in backslashes or holding escaped quotes do not hide a repeated key', () => {
    const refused = [
      '{"a":"x\\\\","a":2}', // value ends in an escaped backslash: the next quote closes it
      '{"a\\"":1,"a\\"":2}', // a key holding an escaped quote, twice
      '{"k":"\\\"{\\\"k\\\":1}","k":2}', // a value that looks like an object with the key
      '{"\\\\":1,"\\\\":2}', // the key is one backslash, twice
      '{"\\u0061":1,"a":2}',
    ];
    for (const text of refused) {
      JSON.parse(text); // valid JSON: only the duplicate is wrong
      const r = parseSignedJson(text);
      assert.ok('reason' in r, text);
      assert.match(r.reason, /appears twice in one object/, text);
    }
    const accepted = ['{"a\\"":1,"a":2}', '{"a":"\\\"a\\\":1","b":{"a":2}}', '{"\\\\":1,"\\\\\\\\":2}', '[{"a":1},{"a":1}]', '{"a":[{"a":1},"a"],"b":"a"}'];
    for (const text of accepted) assert.deepEqual(parseSignedJson(text), { value: JSON.parse(text) }, text);
  });

  test('keys and values made of quotes, backslashes and brackets: a repeat is found exactly when there is one', () => {
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const alphabet = ['a', '"', '\\', '{', '}', '[', ']', ',', ':', '\u00e9'];
    const word = () => Array.from({ length: next() % 6 }, () => alphabet[next() % alphabet.length]).join('');
    for (let i = 0; i < 500; i++) {
      const [k, v] = [word(), word()];
      const q = (x: string) => JSON.stringify(x);
      const twice = `{${q(v)}:[${q(k)},{${q(k)}:${q(v)}}],${q(k)}:1,${q(k + 'z')}:2,${q(k)}:${q(v)}}`;
      const once = `{${q(v + 'y')}:${q(k)},${q(k)}:{${q(k)}:${q(v)}},${q(k + 'z')}:[${q(k)}]}`;
      assert.ok('reason' in parseSignedJson(twice), twice);
      assert.deepEqual(parseSignedJson(once), { value: JSON.parse(once) }, once);
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
