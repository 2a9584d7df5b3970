import { ApiTags } from '@nestjs/swagger';
import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { Registry } from 'prom-client';
import type { ProvwatchMetrics } from '@provwatch/observability';
import { METRICS } from '@provwatch/service-core';

/** Prometheus exposition; never behind the API token (scrapers are authorised at the network edge). */
@ApiTags('operations')
@Controller()
export class MetricsController {
  constructor(@Inject(METRICS) private readonly metrics: ProvwatchMetrics) {}

  /**
   * Written to the socket chunk by chunk: with many targets the body runs to megabytes, made of
   * cached per-target strings; joining them (and Express's ETag hashing) on every scrape would
   * allocate and hash all of it each time.
   */
  @Get('metrics')
  async scrape(@Res() res: ServerResponse): Promise<void> {
    const chunks = await this.metrics.renderChunks();
    res.writeHead(200, { 'content-type': Registry.PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' });
    res.cork();
    for (const chunk of chunks) res.write(chunk);
    res.end();
  }
}
