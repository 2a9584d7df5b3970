import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { firstIndexAfter } from './status.params';

describe('firstIndexAfter (where the next page of targets starts)', () => {
  // The linear scan it replaces, as the reference: the first name greater than the cursor.
  const linear = (sorted: string[], cursor: string) => {
    const i = sorted.findIndex((n) => n > cursor);
    return i < 0 ? sorted.length : i;
  };

  test('agrees with a linear scan for cursors on, between, before and after the names', () => {
    const names = Array.from({ length: 1000 }, (_, i) => `t${i}`).sort();
    const cursors = ['', '-', 'a', 't', 'u', '~', ...names, ...names.map((n) => `${n}-`), ...names.map((n) => n.slice(0, -1))];
    for (const size of [0, 1, 2, 3, 1000]) {
      const sorted = names.slice(0, size);
      for (const cursor of cursors) assert.equal(firstIndexAfter(sorted, cursor), linear(sorted, cursor), `${size} names, cursor ${JSON.stringify(cursor)}`);
    }
  });

  test('walking pages by the last name of each visits every name once, in order', () => {
    const names = Array.from({ length: 257 }, (_, i) => `target-${i}`).sort();
    const seen: string[] = [];
    for (let start = 0; start < names.length; ) {
      const page = names.slice(start, start + 50);
      seen.push(...page);
      start = firstIndexAfter(names, page[page.length - 1]);
    }
    assert.deepEqual(seen, names);
  });

  test('a cursor past the last name gives an empty page, not the first', () => {
    assert.equal(firstIndexAfter(['a', 'b'], 'b'), 2);
    assert.equal(firstIndexAfter(['a', 'b'], 'zzz'), 2);
    assert.equal(firstIndexAfter([], 'a'), 0);
  });
});
