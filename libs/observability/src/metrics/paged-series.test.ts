import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { PagedSeries, sortedUnique } from './paged-series';

const HEADERS = ['# a\n', '# b\n', '# c\n'].map((h) => Buffer.from(h));

/** What the series must print: each header, then every set key's text of that gauge in key order. */
function expected(model: Map<string, string[]>, keys: string[]): string {
  const sorted = [...keys].sort();
  return HEADERS.map((header, g) => header.toString() + sorted.map((key) => model.get(key)?.[g] ?? '').join('')).join('');
}

/** A small deterministic generator (mulberry32), so a failure can be replayed from its seed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('paged series', () => {
  test('any sequence of key changes, sets and packs prints what a from-scratch render would', async () => {
    // Keys that sort differently by UTF-16 code units and by code points or locale (é, 𝔘, \uffff).
    const universe = ['a', 'B', 'b', 'é', '\uffff', '𝔘', 'a\u0000x', ...Array.from({ length: 40 }, (_, i) => `t${i}`)];
    for (let seed = 1; seed <= 40; seed++) {
      const next = random(seed);
      const pick = <T>(items: readonly T[]) => items[Math.floor(next() * items.length)];
      const series = new PagedSeries(HEADERS, 1 + Math.floor(next() * 5));
      const model = new Map<string, string[]>();
      let keys: string[] = [];
      const text = () => pick(['', 'x 1\n', 'é{l="𝔘"} 2\n', 'y 3\nz 4\n', `big ${'9'.repeat(300_000)}\n`.slice(0, next() < 0.05 ? undefined : 20)]);
      for (let step = 0; step < 60; step++) {
        const op = next();
        if (op < 0.1) {
          keys = universe.filter(() => next() < 0.5);
          series.setKeys(next() < 0.5 ? keys : [...keys].reverse().concat(keys));
          for (const key of [...model.keys()]) if (!keys.includes(key)) model.delete(key);
        } else if (op < 0.2) {
          const added = universe.filter(() => next() < 0.1);
          series.addKeys(added);
          keys = [...new Set([...keys, ...added])];
        } else if (op < 0.8 && keys.length > 0) {
          const key = pick(keys);
          const texts = HEADERS.map(() => (next() < 0.6 ? text() : ''));
          series.set(key, texts);
          model.set(key, texts);
        } else {
          let allowed = Math.floor(next() * 3);
          await series.pack(() => allowed-- <= 0);
        }
        const where = `seed ${seed} step ${step}`;
        assert.equal(Buffer.concat(series.chunks()).toString(), expected(model, keys), where);
        assert.equal(series.size, model.size, where);
        assert.equal(series.keyCount, keys.length, where);
        assert.equal(series.byteLength, [...model.values()].reduce((sum, texts) => sum + Buffer.byteLength(texts.join('')), 0), where);
        for (const key of universe) assert.equal(series.has(key), model.has(key), `${where} has(${key})`);
      }
    }
  });

  test('a packed page is one chunk per gauge; setting a key re-packs only its page', async () => {
    const series = new PagedSeries(HEADERS, 2);
    const keys = ['k0', 'k1', 'k2', 'k3', 'k4'];
    series.setKeys(keys);
    for (const key of keys) series.set(key, [`${key}a\n`, `${key}b\n`, `${key}c\n`]);
    assert.equal(series.chunks().length, 3 + 3 * 5, 'unpacked: one chunk per key and gauge');
    await series.pack();
    const packed = series.chunks();
    assert.equal(packed.length, 3 + 3 * 3, 'three pages of at most two keys: one chunk per page and gauge');
    series.set('k2', ['k2A\n', '', 'k2C\n']);
    const unpacked = series.chunks();
    assert.equal(unpacked.length, 3 + 3 * 2 + 5, 'the middle page shows its keys one by one until packed (k2 has no lines of gauge b)');
    await series.pack();
    const repacked = series.chunks();
    assert.equal(Buffer.concat(repacked).toString(), expected(new Map(keys.map((k) => [k, k === 'k2' ? ['k2A\n', '', 'k2C\n'] : [`${k}a\n`, `${k}b\n`, `${k}c\n`]])), keys));
    // The first and last pages kept their Buffers: a scrape in flight still holds valid bytes, and nothing was copied.
    for (const g of [0, 1, 2]) {
      assert.equal(repacked[g * 4 + 1], packed[g * 4 + 1], `gauge ${g}, first page`);
      assert.equal(repacked[g * 4 + 3], packed[g * 4 + 3], `gauge ${g}, last page`);
      assert.notEqual(repacked[g * 4 + 2], packed[g * 4 + 2], `gauge ${g}, repacked page`);
    }
  });

  test('a key added or dropped moves only the pages from it on: the pages before it keep their Buffers', async () => {
    const series = new PagedSeries(HEADERS, 2);
    const keys = ['k0', 'k1', 'k2', 'k3', 'k4'];
    const texts = (k: string) => [`${k}a\n`, `${k}b\n`, `${k}c\n`];
    series.setKeys(keys);
    for (const key of keys) series.set(key, texts(key));
    await series.pack();
    const before = series.chunks();
    // k25 sorts after k2: pages [k0 k1] and [k2 k25] ... the first page holds the same keys.
    series.addKeys(['k25']);
    series.set('k25', texts('k25'));
    await series.pack();
    const added = series.chunks();
    const all = ['k0', 'k1', 'k2', 'k25', 'k3', 'k4'];
    assert.equal(Buffer.concat(added).toString(), expected(new Map(all.map((k) => [k, texts(k)])), all));
    for (const g of [0, 1, 2]) assert.equal(added[g * 4 + 1], before[g * 4 + 1], `gauge ${g}: the first page was not copied again`);
    series.setKeys(['k0', 'k1', 'k2', 'k25', 'k3']);
    await series.pack();
    const dropped = series.chunks();
    for (const g of [0, 1, 2]) {
      assert.equal(dropped[g * 4 + 1], before[g * 4 + 1], `gauge ${g}: first page kept after a drop at the end`);
      assert.equal(dropped[g * 4 + 2], added[g * 4 + 2], `gauge ${g}: second page kept after a drop at the end`);
    }
    assert.equal(series.size, 5);
    // The last page [k3] had room: a key after it joins it, and the page must grow, not be kept.
    series.addKeys(['k9']);
    series.set('k9', texts('k9'));
    await series.pack();
    const grown = ['k0', 'k1', 'k2', 'k25', 'k3', 'k9'];
    assert.equal(Buffer.concat(series.chunks()).toString(), expected(new Map(grown.map((k) => [k, texts(k)])), grown));
  });

  test('a page with a key not set yet is not packed, and shows the keys that are', async () => {
    const series = new PagedSeries(HEADERS, 4);
    series.setKeys(['a', 'b', 'c']);
    series.set('a', ['a\n', '', '']);
    series.set('c', ['c\n', '', '']);
    await series.pack();
    assert.equal(series.chunks().length, 3 + 2, 'still one chunk per set key');
    assert.equal(series.has('b'), false);
    series.set('b', ['b\n', '', '']);
    await series.pack();
    assert.deepEqual(series.chunks().map(String), ['# a\n', 'a\nb\nc\n', '# b\n', '# c\n']);
  });

  test('packBefore packs the finished pages before a key, and leaves that page and the ones after it', async () => {
    const series = new PagedSeries(HEADERS, 2);
    const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
    series.setKeys(keys);
    for (const key of keys) series.set(key, [`${key} 1\n`, '', `${key} 3\n`]);
    // Pages [a b] [c d] [e f]: before `d` is the first page only.
    await series.packBefore('d');
    const perGauge = series.chunks().length;
    // Gauge 0 and 2: page 1 packed is one chunk, pages 2 and 3 are two each; gauge 1 has no lines.
    assert.equal(perGauge, HEADERS.length + 2 * (1 + 2 + 2));
    await series.packBefore(undefined);
    assert.equal(series.chunks().length, HEADERS.length + 2 * 3);
    assert.equal(Buffer.concat(series.chunks()).toString(), expected(new Map(keys.map((k) => [k, [`${k} 1\n`, '', `${k} 3\n`]])), keys));
  });

  test('set refuses a key that is not one of the keys', () => {
    const series = new PagedSeries(HEADERS);
    series.setKeys(['a']);
    assert.throws(() => series.set('b', ['', '', '']), /b is not a key/);
  });

  test('sortedUnique: code-unit order without duplicates, whatever order the keys come in, never the caller\'s array', () => {
    const ascending = ['a', 'b', 'c'];
    const out = sortedUnique(ascending);
    assert.deepEqual(out, ['a', 'b', 'c']);
    assert.notEqual(out, ascending, 'a copy: the series keeps it as its order');
    // Sorted but with a duplicate: not strictly ascending, so deduplicated.
    assert.deepEqual(sortedUnique(['a', 'a', 'b']), ['a', 'b']);
    assert.deepEqual(sortedUnique(['c', 'a', 'c', 'b', 'a']), ['a', 'b', 'c']);
    assert.deepEqual(sortedUnique(new Set(['b', 'a'])), ['a', 'b']);
    assert.deepEqual(sortedUnique(new Map([['b', 1], ['a', 2]]).keys()), ['a', 'b']);
    assert.deepEqual(sortedUnique([]), []);
    // U+FF61 sorts after the surrogate pair of U+1F600 by code unit (0xFF61 > 0xD83D), before it by code point.
    assert.deepEqual(sortedUnique(['\uff61', '\u{1f600}']), ['\u{1f600}', '\uff61']);
    assert.deepEqual(sortedUnique(['\u{1f600}', '\uff61']), ['\u{1f600}', '\uff61']);
  });
});
