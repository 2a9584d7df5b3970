import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { createStructuredLogger } from '@provwatch/observability';
import { NestStructuredLogger } from './nest-logger';

test("Nest's lines in the same format: start-up chatter at debug, stacks kept out, object messages carry fields", () => {
  const lines: string[] = [];
  const pino = createStructuredLogger({ level: 'info', format: 'json', isTty: false, destination: { write: (l: string) => void lines.push(l) } });
  const nest = new NestStructuredLogger(pino);
  nest.log('Mapped {/api/v1/targets, GET} route', 'RouterExplorer');
  nest.log('AppModule dependencies initialized', 'InstanceLoader');
  nest.log('roles api,worker; listening on 8080', 'provwatch');
  nest.error('request failed: boom', 'Error: boom\n    at handler (/app/x.js:1:2)', 'api');
  nest.warn({ msg: 'job failed', target: 'pbs-exporter', jobId: '7' }, 'worker');
  const events = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(events.map((e) => e.msg), ['roles api,worker; listening on 8080', 'request failed: boom', 'job failed']);
  assert.equal(events[1].level, 'error');
  assert.equal(events[1].context, 'api');
  assert.ok(!lines.join('').includes('    at handler'), 'no stack trace in a log line');
  assert.deepEqual([events[2].target, events[2].jobId, events[2].context], ['pbs-exporter', '7', 'worker']);
});
