import { ApiTags } from '@nestjs/swagger';
import { Controller, Get, Inject, Req, Res } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Registry } from 'prom-client';
import { DeflatedSegmentCache, type ProvwatchMetrics, gzipExposition, yieldToEventLoop } from '@provwatch/observability';
import { METRICS } from '@provwatch/service-core';

/** Bytes copied into one socket write: small enough to hold the event loop for microseconds. */
const WRITE_BLOCK_BYTES = 256 * 1024;

/**
 * Writes the chunks with backpressure: the cached per-target Buffers are copied into one reused
 * block of WRITE_BLOCK_BYTES, the block is written, and the next one starts only once the socket
 * took it (its write callback) and the event loop had a turn. Writing a 100 MB body in one go
 * (corked) queued it in one synchronous run that stalled the loop for hundreds of ms; a fresh
 * block per write left 100 MB of garbage per scrape for the GC. Stops when the client goes away;
 * a chunk source that fails cuts the connection.
 */
export async function writeWithBackpressure(res: ServerResponse, chunks: Iterable<string | Buffer> | AsyncIterable<string | Buffer>): Promise<void> {
  let closed = false;
  const onClose = () => (closed = true);
  res.once('close', onClose);
  const block = Buffer.allocUnsafe(WRITE_BLOCK_BYTES);
  let used = 0;
  const send = async (data: Buffer) => {
    await new Promise<void>((resolve) => {
      const done = () => {
        res.off('close', done);
        resolve();
      };
      res.once('close', done);
      // The callback runs once the socket took the data: only then may `block` be reused.
      res.write(data, done);
    });
    // Always one turn of the event loop per block: when the kernel takes a write whole, Node
    // completes it from process.nextTick, and chaining the next block there wrote all 100 MB
    // without ever returning to the loop (120-200 ms stalls at 10,000 targets).
    await yieldToEventLoop();
  };
  /** Copies one chunk into the block; the returned promise (when any) is the block's write. */
  const take = (chunk: string | Buffer): Promise<void> | undefined => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (used + bytes.length > WRITE_BLOCK_BYTES && used > 0) {
      const full = block.subarray(0, used);
      used = 0;
      return send(full).then(() => (closed ? undefined : take(bytes)));
    }
    if (bytes.length >= WRITE_BLOCK_BYTES) return send(bytes);
    bytes.copy(block, used);
    used += bytes.length;
    return undefined;
  };
  try {
    if (Symbol.asyncIterator in chunks) {
      // for await calls an async generator's return() when this loop exits early: a gzip body
      // whose client went away compresses nothing more.
      for await (const chunk of chunks) {
        if (closed) return;
        await take(chunk);
      }
    } else {
      // No await per chunk: a plain body is tens of thousands of chunks, written from a few blocks.
      for (const chunk of chunks) {
        if (closed) return;
        const written = take(chunk);
        if (written) await written;
      }
    }
    if (used > 0 && !closed) await send(block.subarray(0, used));
    if (!closed) res.end();
  } catch (err) {
    // Headers are sent: only a cut connection tells the scraper that this body is not whole (a
    // gzip body without its trailer fails to decode), never an end that looks complete.
    res.destroy(err as Error);
    throw err;
  } finally {
    res.off('close', onClose);
  }
}

/**
 * Whether an Accept-Encoding header allows gzip (RFC 9110 12.5.3): `gzip` or `x-gzip` with a
 * non-zero weight, or `*` with one when gzip is not named. No header: identity only.
 */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  if (header === undefined) return false;
  let star: boolean | undefined;
  for (const entry of (Array.isArray(header) ? header.join(',') : header).split(',')) {
    const [coding, ...parameters] = entry.split(';').map((part) => part.trim().toLowerCase());
    const weight = parameters.find((p) => p.startsWith('q='));
    const accepted = weight === undefined || Number(weight.slice(2)) > 0;
    if (coding === 'gzip' || coding === 'x-gzip') return accepted;
    if (coding === '*') star = accepted;
  }
  return star === true;
}

/** Prometheus exposition; never behind the API token (scrapers are authorised at the network edge). */
@ApiTags('operations')
@Controller()
export class MetricsController {
  /** The kept series pages' compressed forms, for scrapers that ask for gzip (Prometheus does). */
  private readonly deflated = new DeflatedSegmentCache();

  constructor(@Inject(METRICS) private readonly metrics: ProvwatchMetrics) {}

  /**
   * The body is the cached per-target Buffers (megabytes with many targets), written to the socket
   * with backpressure; no join into one string and no Express ETag hashing of all of it.
   */
  @Get('metrics')
  async scrape(@Req() req: IncomingMessage, @Res() res: ServerResponse): Promise<void> {
    await answerScrape(req, res, await this.metrics.renderChunks(), this.deflated);
  }
}

/**
 * Writes one scrape's answer: gzip when the scraper accepts it (the kept pages compressed once,
 * not per scrape: gzip-exposition.ts), the plain text otherwise.
 */
export async function answerScrape(req: IncomingMessage, res: ServerResponse, chunks: ReadonlyArray<string | Buffer>, deflated: DeflatedSegmentCache): Promise<void> {
  const gzip = acceptsGzip(req.headers['accept-encoding']);
  res.writeHead(200, {
    'content-type': Registry.PROMETHEUS_CONTENT_TYPE,
    'cache-control': 'no-store',
    vary: 'Accept-Encoding',
    ...(gzip ? { 'content-encoding': 'gzip' } : {}),
  });
  await writeWithBackpressure(res, gzip ? gzipExposition(chunks, deflated) : chunks);
}
