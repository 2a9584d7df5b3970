import { Controller, Get, Header, Inject } from '@nestjs/common';
import { Registry } from 'prom-client';
import type { ProvwatchMetrics } from '@provwatch/observability';
import { METRICS } from './metrics.tokens';

/** Prometheus exposition; never behind the API token (scrapers are authorised at the network edge). */
@Controller()
export class MetricsController {
  constructor(@Inject(METRICS) private readonly metrics: ProvwatchMetrics) {}

  @Get('metrics')
  @Header('content-type', Registry.PROMETHEUS_CONTENT_TYPE)
  @Header('cache-control', 'no-store')
  scrape(): Promise<string> {
    return this.metrics.render();
  }
}
