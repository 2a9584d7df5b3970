import { gunzipSync } from 'node:zlib';
import { type DeflateResult, SegmentDeflateError, type SegmentDeflater, sharedSegmentDeflater } from './segment-deflater';

/**
 * The exposition as one gzip stream (RFC 1952), for scrapers that ask for it: Prometheus sends
 * `Accept-Encoding: gzip` unless a job sets `enable_compression: false`. At 10,000 targets the text
 * is ~100 MB per scrape, and on a small machine copying it through the loopback socket and reading
 * it took both cores for ~80 ms every scrape (the status API's p99 landed in those windows). Gzip
 * makes it a few MB.
 *
 * Compressing 100 MB for every scrape would cost more than it saves, so the large chunks, which
 * are the kept series pages (written once, never changed: PagedSeries), are compressed once and
 * their compressed form is kept beside them. Each is a raw deflate segment ended by a sync flush
 * (byte-aligned, no final block), so segments compressed independently follow one another in one
 * deflate stream; the stream ends with an empty final block. The gzip trailer needs the CRC-32 of
 * the whole text: each segment keeps its own CRC and the operator that shifts a CRC past its bytes,
 * and the scrape combines them (a few hundred 32-step products) instead of hashing 100 MB.
 *
 * Deflating runs on a thread of its own (segment-deflater.ts), never on the event loop.
 */

/**
 * Buffer chunks at least this large are compressed once and kept; smaller ones (and strings) are
 * gathered into runs compressed for each body. A page's gauges other than provwatch_check_status
 * are 4-40 KB each, a third of the text: gathered per body, they cost 30 MB of deflate per scrape.
 * Below this size a chunk may come from Node's shared pool of small Buffers, whose spans are not
 * a chunk's own.
 */
export const KEPT_SEGMENT_MIN_BYTES = 4 * 1024;
/** Small chunks are gathered into runs of about this many bytes. */
const RUN_BYTES = 64 * 1024;
/** Header of a gzip member: magic, deflate, no flags, no mtime, no extra flags, OS unknown (255). */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0x00, 0xff]);
/** An empty final block with fixed codes (BFINAL=1, BTYPE=01, end-of-block), padded to a byte. */
const FINAL_BLOCK = Buffer.from([0x03, 0x00]);

/** One piece of the text, compressed. */
export interface DeflatedSegment {
  /** Raw deflate data ending in a sync flush: no final block, ends on a byte boundary. */
  deflated: Buffer;
  /** CRC-32 of the plain bytes. */
  crc: number;
  /** x^(8·length) mod the CRC-32 polynomial: shifts a CRC past this segment's bytes. */
  shift: number;
  /** Length of the plain bytes. */
  length: number;
}

/**
 * Compressed forms of the large chunks, kept while their memory lives: keyed by the chunk's
 * ArrayBuffer (weakly) and its span in it, so views made again of the same kept page (the series
 * thread's memories are viewed anew for every scrape) find it. Only for chunks whose bytes never
 * change once handed out, which is what the series caches guarantee; strings are never kept.
 */
export class DeflatedSegmentCache {
  private readonly kept = new WeakMap<ArrayBufferLike, Map<string, Promise<DeflatedSegment>>>();

  constructor(private readonly deflater: SegmentDeflater = sharedSegmentDeflater()) {}

  /** Chunks compressed to be kept, since this cache was made (tests and benches: each page once). */
  compressions = 0;
  /** Plain bytes deflated for bodies using this cache, kept chunks and gathered runs alike (benches). */
  deflatedBytes = 0;

  /** The chunk's segment, compressed now when not kept yet (concurrent scrapes share one compression). */
  segment(chunk: Buffer): Promise<DeflatedSegment> {
    let spans = this.kept.get(chunk.buffer);
    if (!spans) {
      spans = new Map();
      this.kept.set(chunk.buffer, spans);
    }
    const key = `${chunk.byteOffset}:${chunk.byteLength}`;
    let segment = spans.get(key);
    if (!segment) {
      const compressing = this.deflater.deflate(chunk).then((result) => segmentOf(result, chunk.length));
      this.compressions++;
      this.deflatedBytes += chunk.length;
      segment = compressing;
      spans.set(key, compressing);
      // A failed compression is not kept: the next scrape tries again.
      compressing.catch(() => spans.delete(key));
    }
    return segment;
  }

  /** Small pieces compressed as one segment for one body, never kept. */
  run(pieces: readonly Buffer[]): Promise<DeflatedSegment> {
    let length = 0;
    for (const piece of pieces) length += piece.length;
    this.deflatedBytes += length;
    return this.deflater.deflateRun(pieces).then((result) => segmentOf(result, length));
  }
}

/**
 * The body as gzip, in order: header, one segment per large chunk (kept) or per run of small
 * chunks (compressed for this body), final block, trailer. Compresses one piece ahead of the one
 * being written. A consumer that stops early (the client went away) compresses nothing more.
 */
export async function* gzipExposition(chunks: ReadonlyArray<string | Buffer>, cache: DeflatedSegmentCache): AsyncGenerator<Buffer> {
  const pieces = groupPieces(chunks);
  const compress = (piece: Buffer | Buffer[]) => {
    const pending = Array.isArray(piece) ? cache.run(piece) : cache.segment(piece);
    // Awaited below unless the consumer stops first: never an unhandled rejection then.
    pending.catch(() => undefined);
    return pending;
  };
  yield GZIP_HEADER;
  let crc = 0;
  let length = 0;
  let next = pieces.length > 0 ? compress(pieces[0]) : undefined;
  for (let i = 0; i < pieces.length; i++) {
    const segment = await next!;
    next = i + 1 < pieces.length ? compress(pieces[i + 1]) : undefined;
    crc = (multiplyModP(segment.shift, crc) ^ segment.crc) >>> 0;
    length = (length + segment.length) % 2 ** 32;
    yield segment.deflated;
  }
  const trailer = Buffer.alloc(FINAL_BLOCK.length + 8);
  FINAL_BLOCK.copy(trailer);
  trailer.writeUInt32LE(crc, FINAL_BLOCK.length);
  trailer.writeUInt32LE(length, FINAL_BLOCK.length + 4);
  yield trailer;
}

/**
 * Before the server listens: one gzip body of `sample` made end to end, through both kinds of
 * piece (a kept chunk and a run of small ones) and the deflate thread, with a cache of its own
 * (nothing kept). It compiles the code of the first gzip scrape, which on cold code held the
 * serving thread several ms while Prometheus waited. It also checks the body decodes to the
 * sample: a deflate thread that cannot work here (its file missing from an image, say) shows at
 * boot with this error, not at the first scrape.
 */
export async function warmGzipExposition(sample: string, deflater: SegmentDeflater = sharedSegmentDeflater()): Promise<void> {
  const text = Buffer.from(sample);
  // One kept-size chunk (copied: a kept chunk's memory must be its own) and the rest as a run.
  const kept = Buffer.alloc(Math.max(KEPT_SEGMENT_MIN_BYTES, text.length));
  text.copy(kept);
  const chunks = [kept, sample, '\n'];
  const parts: Buffer[] = [];
  for await (const part of gzipExposition(chunks, new DeflatedSegmentCache(deflater))) parts.push(Buffer.from(part));
  let decoded: Buffer | undefined;
  try {
    decoded = gunzipSync(Buffer.concat(parts));
  } catch {
    // A wrong CRC or length, or bad deflate data: the decoder refuses the body.
  }
  if (!decoded?.equals(Buffer.concat([kept, text, Buffer.from('\n')]))) {
    throw new SegmentDeflateError('deflate-failed', 'the gzip exposition made at boot does not decode to its text');
  }
}

/** Large Buffers stand alone (kept); strings and small Buffers are gathered into runs of about RUN_BYTES. */
function groupPieces(chunks: ReadonlyArray<string | Buffer>): Array<Buffer | Buffer[]> {
  const pieces: Array<Buffer | Buffer[]> = [];
  let run: Buffer[] = [];
  let runBytes = 0;
  const endRun = () => {
    if (run.length > 0) pieces.push(run);
    run = [];
    runBytes = 0;
  };
  for (const chunk of chunks) {
    if (chunk.length === 0) continue;
    if (typeof chunk !== 'string' && chunk.length >= KEPT_SEGMENT_MIN_BYTES) {
      endRun();
      pieces.push(chunk);
      continue;
    }
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    run.push(bytes);
    runBytes += bytes.length;
    if (runBytes >= RUN_BYTES) endRun();
  }
  endRun();
  return pieces;
}

/** A compressed piece of `length` plain bytes as a segment: the shift operator is computed here. */
function segmentOf(result: DeflateResult, length: number): DeflatedSegment {
  return { deflated: result.deflated, crc: result.crc, shift: crc32Shift(length), length };
}

// CRC-32 arithmetic (the gzip polynomial, bit-reflected: bit 31 holds x^0, bit 0 x^31). The CRC
// of A followed by B is crc(A)·x^(8·|B|) + crc(B) mod P; the register's initial and final
// inversions cancel out in that sum, so no correction term is needed.
const POLYNOMIAL = 0xedb88320;
const X0 = 0x80000000;

/** a·b mod P. */
export function multiplyModP(a: number, b: number): number {
  let product = 0;
  for (let bit = X0; bit !== 0; bit >>>= 1) {
    if ((a & bit) !== 0) product ^= b;
    // b·x: a shift toward higher powers, reduced by P when x^31 falls off.
    b = b & 1 ? (b >>> 1) ^ POLYNOMIAL : b >>> 1;
  }
  return product >>> 0;
}

/** x^(2^k) mod P for k = 0..63 (lengths below 2^60 bytes): each the square of the one before. */
const X_POW_2K: number[] = (() => {
  const table = [X0 >>> 1];
  for (let k = 1; k < 64; k++) table.push(multiplyModP(table[k - 1], table[k - 1]));
  return table;
})();

/** x^(8·bytes) mod P: the operator that moves a CRC past `bytes` bytes. */
export function crc32Shift(bytes: number): number {
  let power = X0;
  // 8·bytes is the sum of 2^(k+3) over the set bits k of bytes: multiply those powers of x.
  for (let k = 3, n = bytes; n > 0; k++, n = Math.floor(n / 2)) {
    if (n % 2 === 1) power = multiplyModP(X_POW_2K[k], power);
  }
  return power;
}
