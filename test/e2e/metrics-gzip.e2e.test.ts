/**
 * A real Prometheus reads the gzip exposition: it asks for gzip on its own, decodes the stream of
 * independently compressed kept pages (one deflate stream, a CRC combined from the pieces) and
 * ingests every series. A wrong CRC, length or deflate boundary fails its scrape (up 0, no series).
 */
import { strict as assert } from 'node:assert';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { DeflatedSegmentCache } from '@provwatch/observability';
import { formatGaugeHeader, formatSeries } from '../../libs/observability/src/metrics/exposition-text';
import { PagedSeries, sharedMemoryBytes } from '../../libs/observability/src/metrics/paged-series';
import { answerScrape } from '../../apps/api/src/metrics/metrics.controller';
import { eventually } from '../support/eventually';
import { type RunningPrometheus, startPrometheus } from '../support/prometheus';

const TARGETS = 3_000;
const RELEASES = 5;
const encodings: Array<string | undefined> = [];
let prometheus: RunningPrometheus;
let server: ReturnType<typeof createServer>;

before(async () => {
  // Two gauges over 3,000 targets in shared-memory pages of 64 targets, as the series thread keeps them.
  const series = new PagedSeries(
    [Buffer.from(formatGaugeHeader('gzip_test_release_status', 'One per target and release.')), Buffer.from(formatGaugeHeader('gzip_test_target_value', 'One per target.'))],
    64,
    sharedMemoryBytes,
  );
  const names = Array.from({ length: TARGETS }, (_, i) => `t${String(i).padStart(5, '0')}`);
  series.setKeys(names);
  names.forEach((target, i) => {
    const releases = Array.from({ length: RELEASES }, (_, r) => ({ labels: { target, release: `v1.0.${r}` }, value: 1 }));
    series.set(target, [formatSeries('gzip_test_release_status', releases), formatSeries('gzip_test_target_value', [{ labels: { target }, value: i }])]);
  });
  await series.pack();
  const deflated = new DeflatedSegmentCache();
  server = createServer((req, res) => {
    encodings.push(req.headers['accept-encoding']);
    void answerScrape(req, res, ['# HELP gzip_test_up Small text before the pages.\n# TYPE gzip_test_up gauge\ngzip_test_up 1\n', ...series.chunks()], deflated);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  prometheus = await startPrometheus({ scrapeTargets: [`127.0.0.1:${(server.address() as AddressInfo).port}`] });
});

after(async () => {
  await prometheus?.stop();
  server?.closeAllConnections();
  server?.close();
});

test('Prometheus asks for gzip and ingests every series of the compressed pages', async () => {
  const expectedSum = (TARGETS * (TARGETS - 1)) / 2;
  await eventually(
    'every series ingested',
    async () => {
      const [count] = await prometheus.query('count(gzip_test_release_status)');
      const [sum] = await prometheus.query('sum(gzip_test_target_value)');
      return count?.value[1] === String(TARGETS * RELEASES) && sum?.value[1] === String(expectedSum) ? true : undefined;
    },
    { timeoutMs: 60_000, progress: async () => JSON.stringify(await prometheus.query('up')) },
  );
  const [up] = await prometheus.query('up');
  assert.equal(up.value[1], '1');
  assert.ok(encodings.length > 0 && encodings.every((e) => /\bgzip\b/.test(e ?? '')), `Prometheus asked for gzip: ${JSON.stringify([...new Set(encodings)])}`);
  const [samples] = await prometheus.query('scrape_samples_scraped');
  assert.equal(samples.value[1], String(TARGETS * RELEASES + TARGETS + 1));
});
