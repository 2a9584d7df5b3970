import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { createStructuredLogger, formatPrettyLine, loggingOptionsFrom } from './structured-logger';
import { scrubSecrets } from './log-scrub';

function capture(options: Partial<Parameters<typeof createStructuredLogger>[0]> = {}) {
  const lines: string[] = [];
  const logger = createStructuredLogger({ level: 'info', format: 'json', isTty: false, destination: { write: (l: string) => void lines.push(l) }, ...options });
  return { logger, lines, events: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('structured logger', () => {
  test('one JSON object per line: UTC ISO-8601 time, level name, msg, fields', () => {
    const { logger, lines, events } = capture();
    logger.info({ context: 'worker', target: 'pbs-exporter', release: 'v0.9.0', jobId: '42' }, 'job completed');
    assert.equal(lines.length, 1);
    assert.ok(lines[0].endsWith('\n'));
    const [event] = events();
    assert.match(String(event.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.deepEqual({ ...event, time: undefined }, { time: undefined, level: 'info', context: 'worker', target: 'pbs-exporter', release: 'v0.9.0', jobId: '42', msg: 'job completed' });
  });

  test('LOG_LEVEL filters; unknown values fall back to info (the configuration refuses them)', () => {
    const { logger, lines } = capture({ level: 'warn' });
    logger.info('hidden');
    logger.warn('shown');
    assert.equal(lines.length, 1);
    assert.equal(loggingOptionsFrom({ LOG_LEVEL: 'debug' }).level, 'debug');
    assert.equal(loggingOptionsFrom({ LOG_LEVEL: 'loud' }).level, 'info');
    assert.equal(loggingOptionsFrom({}).format, 'auto');
  });

  test('forged: secrets in messages and fields are removed, known ones whatever they look like', () => {
    const options = loggingOptionsFrom({
      DATABASE_URL: 'postgresql://provwatch:pg-Secret-9@db:5432/provwatch',
      GITHUB_TOKEN: 'ghp_0123456789abcdefghijABCDEFGHIJ012345',
      PROVWATCH_API_TOKEN: 'api-token-7f3a9c2e',
      ALERTMANAGER_URLS: 'https://am:am-pass-55@alertmanager:9093',
    });
    const { logger, lines } = capture({ secrets: options.secrets });
    logger.warn('connect postgresql://provwatch:pg-Secret-9@db:5432/provwatch failed');
    logger.warn({ url: 'https://objects.githubusercontent.com/x/y?X-Amz-Signature=abc123&X-Amz-Credential=key' }, 'download');
    logger.warn({ header: 'Bearer api-token-7f3a9c2e' }, 'token ghp_0123456789abcdefghijABCDEFGHIJ012345 refused');
    logger.warn({ nested: { reason: 'posting to https://am:am-pass-55@alertmanager:9093 failed' } }, 'alert');
    logger.warn('api-token-7f3a9c2e alone');
    const text = lines.join('');
    for (const secret of ['pg-Secret-9', 'abc123', 'X-Amz-Credential', 'api-token-7f3a9c2e', 'ghp_0123456789abcdefghijABCDEFGHIJ012345', 'am-pass-55']) {
      assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    }
    assert.match(text, /postgresql:\/\/\*\*\*@db:5432\/provwatch/);
    assert.match(text, /objects\.githubusercontent\.com\/x\/y\?\*\*\*/);
  });

  test('scrubSecrets leaves ordinary text alone', () => {
    const plain = 'job verify-release 12 failed: SourceError: network-error: GET 127.0.0.1:9/repos/natrontech/pbs-exporter/releases: ECONNREFUSED';
    assert.equal(scrubSecrets(plain), plain);
  });

  test('pretty lines for a terminal: time, level, context, message, fields; colour only when asked', () => {
    const json = JSON.stringify({ level: 'warn', time: '2026-12-02T01:40:00.000Z', context: 'worker', target: 't', msg: 'job failed' });
    assert.equal(formatPrettyLine(json, false), '2026-12-02T01:40:00.000Z WARN  [worker] job failed target=t\n');
    assert.match(formatPrettyLine(json, true), /\x1b\[33mWARN /);
    const { logger, lines } = capture({ format: 'pretty', isTty: false });
    logger.info({ context: 'http', status: 200 }, 'request');
    assert.match(lines[0], /^\S+Z INFO  \[http\] request status=200\n$/);
  });
});
