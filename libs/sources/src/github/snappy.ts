import { SourceError } from '../source.error';

const SNAPPY_STREAM_ID = Buffer.from([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]);

/**
 * A snappy body in either of its two forms: the raw block (what Go's `snappy.Decode` reads, and
 * `gh attestation` with it) or the framing format (`sNaPpY` stream of chunks), in case storage
 * ever serves that. Chunk checksums are not verified: the bundle's own signature is.
 */
export function snappyUncompress(input: Buffer, limit: number, what: string): Buffer {
  if (!input.subarray(0, SNAPPY_STREAM_ID.length).equals(SNAPPY_STREAM_ID)) return snappyDecode(input, limit, what);
  const bad = (why: string) => new SourceError('github-bad-response', `${what}: not a snappy stream (${why})`);
  const parts: Buffer[] = [];
  let total = 0;
  for (let pos = 0; pos < input.length; ) {
    if (pos + 4 > input.length) throw bad('chunk header');
    const type = input[pos];
    const length = input.readUIntLE(pos + 1, 3);
    const data = input.subarray(pos + 4, pos + 4 + length);
    if (data.length !== length) throw bad('chunk length');
    pos += 4 + length;
    if (type === 0xff) {
      if (!data.equals(SNAPPY_STREAM_ID.subarray(4))) throw bad('stream identifier');
      continue;
    }
    if (type >= 0x80) continue; // padding and skippable chunks
    if ((type !== 0x00 && type !== 0x01) || length < 4) throw bad(`chunk type ${type}`);
    const chunk = type === 0x00 ? snappyDecode(data.subarray(4), limit - total, what) : data.subarray(4);
    total += chunk.length;
    if (total > limit) throw new SourceError('registry-too-large', `${what}: bundle larger than ${limit} bytes`);
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

/**
 * Snappy's raw block format (github.com/google/snappy format_description.txt): a varint length,
 * then literals and back-references. Bounded: the announced and the produced length may not pass
 * `limit` (a decompression bomb), and every reference must point inside what was produced.
 */
export function snappyDecode(input: Buffer, limit: number, what: string): Buffer {
  const bad = (why: string) => new SourceError('github-bad-response', `${what}: not a snappy block (${why})`);
  let pos = 0;
  let length = 0;
  for (let shift = 0; ; shift += 7) {
    if (pos >= input.length || shift > 28) throw bad('length');
    const byte = input[pos++];
    length += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) break;
  }
  // The format caps a block at 2^32 - 1 bytes; more is no snappy block.
  if (length > 0xffff_ffff) throw bad('length');
  if (length > limit) throw new SourceError('registry-too-large', `${what}: bundle larger than ${limit} bytes`);
  const out = Buffer.alloc(length);
  let at = 0;
  while (pos < input.length) {
    const tag = input[pos++];
    const kind = tag & 3;
    if (kind === 0) {
      let n = tag >> 2;
      if (n >= 60) {
        const bytes = n - 59;
        if (pos + bytes > input.length) throw bad('literal length');
        n = input.readUIntLE(pos, bytes);
        pos += bytes;
      }
      n += 1;
      if (pos + n > input.length || at + n > length) throw bad('literal');
      input.copy(out, at, pos, pos + n);
      pos += n;
      at += n;
      continue;
    }
    let n: number;
    let offset: number;
    if (kind === 1) {
      if (pos + 1 > input.length) throw bad('copy');
      n = ((tag >> 2) & 7) + 4;
      offset = ((tag >> 5) << 8) | input[pos++];
    } else {
      const bytes = kind === 2 ? 2 : 4;
      if (pos + bytes > input.length) throw bad('copy');
      n = (tag >> 2) + 1;
      offset = input.readUIntLE(pos, bytes);
      pos += bytes;
    }
    if (offset === 0 || offset > at || at + n > length) throw bad('copy offset');
    // Byte by byte: a reference may overlap what it produces (a run).
    for (let i = 0; i < n; i++, at++) out[at] = out[at - offset];
  }
  if (at !== length) throw bad('short');
  return out;
}
