import type { Expectation } from './json-mutations';
import type { Prng } from './prng';

/** Mutations of the bundle's bytes rather than its fields: what a hostile file looks like. */
export interface ByteMutation {
  name: string;
  expect: Expectation;
  bytes(original: string): string | Buffer;
}

/** `signedTime`: the seed's tlog entry has an inclusionPromise, so its logIndex and integratedTime are signed. */
export function hostileJson(prng: Prng, rounds: number, signedTime: boolean): ByteMutation[] {
  const timed: Expectation = signedTime ? 'reject' : 'any';
  const m: ByteMutation[] = [];
  const add = (name: string, expect: Expectation, bytes: (o: string) => string | Buffer) => m.push({ name, expect, bytes });
  add('whitespace/pretty', 'accept', (o) => JSON.stringify(JSON.parse(o), null, 2));
  add('whitespace/crlf', 'accept', (o) => JSON.stringify(JSON.parse(o), null, 1).replace(/\n/g, '\r\n'));
  add('key-order/reversed', 'accept', (o) => JSON.stringify(reverseKeys(JSON.parse(o))));
  add('bom', 'any', (o) => `\ufeff${o}`);
  add('deep-nesting/100k-arrays', 'reject', () => `${'['.repeat(100_000)}${']'.repeat(100_000)}`);
  add('deep-nesting/in-field', 'any', (o) => `${o.trimEnd().slice(0, -1)},"zz":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`);
  add('huge-string/mediaType-2MiB', 'reject', (o) => JSON.stringify({ ...JSON.parse(o), mediaType: 'x'.repeat(2 * 1024 * 1024) }));
  add('huge-number/logIndex', timed, (o) => o.replace(/"logIndex":\s*"\d+"/, `"logIndex":${'9'.repeat(400)}`));
  add('nan-literal/logIndex', 'reject', (o) => o.replace(/"logIndex":\s*"\d+"/, '"logIndex":NaN'));
  add('nan-string/integratedTime', timed, (o) => o.replace(/"integratedTime":\s*"\d+"/, '"integratedTime":"NaN"'));
  add('infinity/integratedTime', timed, (o) => o.replace(/"integratedTime":\s*"\d+"/, '"integratedTime":1e999'));
  add('__proto__/top-level', 'any', (o) => `{"__proto__":{"mediaType":"x","polluted":1},${o.trim().slice(1)}`);
  add('__proto__/verificationMaterial', 'any', (o) => o.replace('"verificationMaterial":{', '"verificationMaterial":{"__proto__":{"tlogEntries":[]},'));
  add('constructor-key', 'any', (o) => `{"constructor":{"prototype":{"x":1}},${o.trim().slice(1)}`);
  add('duplicate-key/mediaType-garbage-first', 'any', (o) => `{"mediaType":"garbage",${o.trim().slice(1)}`);
  add('duplicate-key/verificationMaterial-empty-last', 'reject', (o) => `${o.trim().slice(0, -1)},"verificationMaterial":{}}`);
  add('wrong-type/array', 'reject', (o) => `[${o}]`);
  add('wrong-type/string', 'reject', (o) => JSON.stringify(o));
  add('wrong-type/null', 'reject', () => 'null');
  add('wrong-type/number', 'reject', () => '42');
  add('empty', 'reject', () => '');
  add('nul-bytes', 'reject', () => Buffer.alloc(4096));
  add('binary-garbage', 'reject', () => Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) % 256)));
  add('utf16', 'reject', (o) => Buffer.from(o, 'utf16le'));
  for (let r = 0; r < rounds; r++) {
    const cut = 0.05 + (prng.int(900) / 1000);
    add(`truncated/${r}`, 'reject', (o) => o.slice(0, Math.max(1, Math.floor(o.length * cut))));
  }
  return m;
}

function reverseKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(reverseKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reverseKeys(x)]));
  return v;
}
