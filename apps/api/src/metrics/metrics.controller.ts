import { ApiTags } from '@nestjs/swagger';
import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { Registry } from 'prom-client';
import type { ProvwatchMetrics } from '@provwatch/observability';
import { METRICS } from './metrics.tokens';

/** Prometheus exposition; never behind the API token (scrapers are authorised at the network edge). */
@ApiTags('operations')
@Controller()
export class MetricsController {
  constructor(@Inject(METRICS) private readonly metrics: ProvwatchMetrics) {}

  /**
   * Written straight to the socket: the body runs to megabytes with many targets, and Express's
   * default path would hash all of it for an ETag nobody uses on every scrape.
   */
  @Get('metrics')
  async scrape(@Res() res: ServerResponse): Promise<void> {
    const body = Buffer.from(await this.metrics.render());
    res.writeHead(200, { 'content-type': Registry.PROMETHEUS_CONTENT_TYPE, 'content-length': body.length, 'cache-control': 'no-store' });
    res.end(body);
  }
}
