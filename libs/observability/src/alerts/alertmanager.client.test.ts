import { strict as assert } from 'node:assert';
import type { IncomingMessage } from 'node:http';
import { after, describe, test } from 'node:test';
import { startHttpServer, type TestHttpServer } from '../../../../test/support/http-server';
import { AlertmanagerClient, type PostableAlert } from '../index';

const servers: TestHttpServer[] = [];
after(() => Promise.all(servers.map((s) => s.close())));

async function server(status: number | ((req: IncomingMessage) => number), bodies: string[] = [], hang = false) {
  const s = await startHttpServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      bodies.push(body);
      if (hang) return;
      const code = typeof status === 'number' ? status : status(req);
      if (code >= 300 && code < 400) res.setHeader('location', 'http://127.0.0.1:9/elsewhere');
      res.writeHead(code).end();
    });
  });
  servers.push(s);
  return s;
}

const firing: PostableAlert = { labels: { alertname: 'ProvwatchSignatureFailed', target: 't' }, annotations: {}, startsAt: new Date().toISOString(), endsAt: new Date(Date.now() + 300_000).toISOString() };
const resolved: PostableAlert = { ...firing, endsAt: new Date(Date.now() - 1000).toISOString() };

describe('Alertmanager client', () => {
  test('posts the alerts as JSON to /api/v2/alerts of every URL and counts per state', async () => {
    const bodiesA: string[] = [];
    const bodiesB: string[] = [];
    const a = await server(200, bodiesA);
    const b = await server(200, bodiesB);
    const counted: string[] = [];
    const client = new AlertmanagerClient({ urls: [a.origin, `${b.origin}/prefix/`], onResult: (state, result, n) => counted.push(`${state}/${result}/${n}`) });
    const outcomes = await client.push([firing, resolved]);
    assert.deepEqual(outcomes.map((o) => o.ok), [true, true]);
    assert.equal(a.requests[0].url, '/api/v2/alerts');
    assert.equal(a.requests[0].method, 'POST');
    assert.equal(a.requests[0].headers['content-type'], 'application/json');
    assert.equal(b.requests[0].url, '/prefix/api/v2/alerts');
    assert.deepEqual(JSON.parse(bodiesA[0]), [firing, resolved]);
    assert.deepEqual(counted.sort(), ['firing/success/1', 'firing/success/1', 'resolved/success/1', 'resolved/success/1']);
  });

  test('credentials in the URL go as Basic auth and never into the outcome', async () => {
    const a = await server(200);
    const client = new AlertmanagerClient({ urls: [`http://alert%40bot:s3cret@${a.host}`] });
    const [outcome] = await client.push([firing]);
    assert.equal(a.requests[0].headers.authorization, `Basic ${Buffer.from('alert@bot:s3cret').toString('base64')}`);
    assert.doesNotMatch(JSON.stringify(outcome), /s3cret/);
  });

  test('a redirect is refused, not followed; a 400 and a dead server are errors; a hang times out', async () => {
    const redirect = await server(307);
    const bad = await server(400);
    const hanging = await server(200, [], true);
    const counted: string[] = [];
    const client = new AlertmanagerClient({ urls: [redirect.origin, bad.origin, 'http://127.0.0.1:9', hanging.origin], timeoutMs: 300, onResult: (s, r) => counted.push(`${s}/${r}`) });
    const outcomes = await client.push([firing]);
    assert.deepEqual(
      outcomes.map((o) => [o.ok, o.detail]),
      [
        [false, 'HTTP 307'],
        [false, 'HTTP 400'],
        [false, 'network error'],
        [false, 'timeout'],
      ],
    );
    assert.equal(redirect.requests.length, 1);
    assert.deepEqual(counted, ['firing/error', 'firing/error', 'firing/error', 'firing/error']);
  });

  test('nothing to send, or no Alertmanager configured: no request', async () => {
    const a = await server(200);
    assert.deepEqual(await new AlertmanagerClient({ urls: [a.origin] }).push([]), []);
    assert.equal(new AlertmanagerClient({ urls: [] }).configured, false);
    assert.equal(a.requests.length, 0);
  });
});
