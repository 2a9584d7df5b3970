import { ApiTags } from '@nestjs/swagger';
import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { Registry } from 'prom-client';
import { type ProvwatchMetrics, yieldToEventLoop } from '@provwatch/observability';
import { METRICS } from '@provwatch/service-core';

/** Bytes copied into one socket write: small enough to hold the event loop for microseconds. */
const WRITE_BLOCK_BYTES = 256 * 1024;

/**
 * Writes the chunks with backpressure: the cached per-target Buffers are copied into one reused
 * block of WRITE_BLOCK_BYTES, the block is written, and the next one starts only once the socket
 * took it (its write callback) and the event loop had a turn. Writing a 100 MB body in one go
 * (corked) queued it in one synchronous run that stalled the loop for hundreds of ms; a fresh
 * block per write left 100 MB of garbage per scrape for the GC. Stops when the client goes away.
 */
export async function writeWithBackpressure(res: ServerResponse, chunks: ReadonlyArray<string | Buffer>): Promise<void> {
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
  try {
    for (const chunk of chunks) {
      if (closed) return;
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (used + bytes.length > WRITE_BLOCK_BYTES && used > 0) {
        await send(block.subarray(0, used));
        used = 0;
        if (closed) return;
      }
      if (bytes.length >= WRITE_BLOCK_BYTES) {
        await send(bytes);
        continue;
      }
      bytes.copy(block, used);
      used += bytes.length;
    }
    if (used > 0 && !closed) await send(block.subarray(0, used));
    if (!closed) res.end();
  } finally {
    res.off('close', onClose);
  }
}

/** Prometheus exposition; never behind the API token (scrapers are authorised at the network edge). */
@ApiTags('operations')
@Controller()
export class MetricsController {
  constructor(@Inject(METRICS) private readonly metrics: ProvwatchMetrics) {}

  /**
   * The body is the cached per-target Buffers (megabytes with many targets), written to the socket
   * with backpressure; no join into one string and no Express ETag hashing of all of it.
   */
  @Get('metrics')
  async scrape(@Res() res: ServerResponse): Promise<void> {
    const chunks = await this.metrics.renderChunks();
    res.writeHead(200, { 'content-type': Registry.PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' });
    await writeWithBackpressure(res, chunks);
  }
}
