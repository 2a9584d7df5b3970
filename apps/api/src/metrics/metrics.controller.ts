import { ApiTags } from '@nestjs/swagger';
import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { Registry } from 'prom-client';
import type { ProvwatchMetrics } from '@provwatch/observability';
import { METRICS } from '@provwatch/service-core';

/** Bytes copied into one socket write: small enough to hold the event loop for microseconds. */
const WRITE_BLOCK_BYTES = 256 * 1024;

/**
 * Writes the chunks with backpressure: up to WRITE_BLOCK_BYTES of the cached per-target Buffers
 * are copied into one write, then the writer waits for 'drain' when the socket's buffer is full,
 * and for the next turn of the event loop in any case. Writing a 100 MB body in one go (corked)
 * converted and queued it in one synchronous run that stalled the loop for hundreds of ms. Stops
 * when the client goes away.
 */
export async function writeWithBackpressure(res: ServerResponse, chunks: ReadonlyArray<string | Buffer>): Promise<void> {
  let closed = false;
  const onClose = () => (closed = true);
  res.once('close', onClose);
  try {
    let block: Buffer[] = [];
    let blockBytes = 0;
    const flush = async () => {
      if (blockBytes === 0) return;
      const data = block.length === 1 ? block[0] : Buffer.concat(block, blockBytes);
      block = [];
      blockBytes = 0;
      if (!res.write(data) && !closed) {
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
        });
      }
      // Always one turn of the event loop per block: when the kernel takes a write whole, Node
      // emits 'drain' from process.nextTick, and chaining the next block there wrote all 100 MB
      // without ever returning to the loop (120-200 ms stalls at 10,000 targets).
      await new Promise<void>((resolve) => setImmediate(resolve));
    };
    for (const chunk of chunks) {
      if (closed) return;
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      block.push(bytes);
      blockBytes += bytes.length;
      if (blockBytes >= WRITE_BLOCK_BYTES) await flush();
    }
    if (!closed) await flush();
    res.end();
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
