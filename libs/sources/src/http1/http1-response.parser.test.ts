import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { type Http1BodyFraming, type Http1Head, Http1ProtocolError, Http1ResponseParser } from './http1-response.parser';

/**
 * The strict HTTP/1.1 response reader, fed whole answers and the same answers split at every
 * byte (a socket may cut anywhere), and the forged answers each rule is there to refuse.
 */

interface Read {
  head: Http1Head;
  framing: Http1BodyFraming;
  body: string;
  complete: boolean;
}

/** Feeds `wire` in pieces of `piece` bytes (copied into one reused buffer, as the socket does). */
function read(wire: string | Buffer, options: { piece?: number; method?: 'GET' | 'HEAD'; close?: boolean } = {}): Read {
  const bytes = typeof wire === 'string' ? Buffer.from(wire, 'latin1') : wire;
  const parser = new Http1ResponseParser(options.method ?? 'GET');
  const piece = options.piece ?? bytes.length;
  const reused = Buffer.alloc(Math.max(piece, 1));
  const body: Buffer[] = [];
  let complete = false;
  for (let at = 0; at < bytes.length && !complete; at += piece) {
    const n = bytes.copy(reused, 0, at, at + piece);
    let view = reused.subarray(0, n);
    if (parser.head === undefined) {
      const used = parser.readHead(view);
      view = view.subarray(used);
      if (parser.head === undefined) continue;
      complete = parser.bodyComplete;
    }
    if (!complete && view.length > 0) complete = parser.readBody(view, (c) => body.push(Buffer.from(c)));
  }
  if (options.close === true) complete = parser.closed();
  assert.ok(parser.head !== undefined, 'the head was read');
  return { head: parser.head, framing: parser.framing!, body: Buffer.concat(body).toString('latin1'), complete };
}

/** Every way of cutting the answer gives the same result as reading it whole. */
function readEverySplit(wire: string, options: { method?: 'GET' | 'HEAD'; close?: boolean } = {}): Read {
  const whole = read(wire, options);
  for (const piece of [1, 2, 3, 5, 7, 16]) assert.deepEqual(read(wire, { ...options, piece }), whole, `read in pieces of ${piece}`);
  return whole;
}

const refuses = (wire: string | Buffer, reason: RegExp, options: { method?: 'GET' | 'HEAD'; piece?: number } = {}) =>
  assert.throws(
    () => read(wire, options),
    (err: unknown) => err instanceof Http1ProtocolError && reason.test(err.reason),
  );

describe('Http1ResponseParser: what it reads', () => {
  test('a Content-Length body, fields in order and OWS trimmed; bytes past the length are not body', () => {
    const r = readEverySplit('HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length:  5 \r\nX-Empty:\r\n\r\nhelloEXTRA');
    assert.equal(r.head.status, 200);
    assert.deepEqual(r.head.rawHeaders, ['Content-Type', 'application/octet-stream', 'Content-Length', '5', 'X-Empty', '']);
    assert.deepEqual(r.framing, { kind: 'length', length: 5 });
    assert.equal(r.body, 'hello');
    assert.equal(r.complete, true);
  });

  test('a chunked body with an extension and trailers; the content alone is handed on', () => {
    const r = readEverySplit('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\nA \r\n, chunked!\r\n0\r\nDigest: x\r\nOther: y\r\n\r\nEXTRA');
    assert.deepEqual(r.framing, { kind: 'chunked' });
    assert.equal(r.body, 'hello, chunked!');
    assert.equal(r.complete, true);
  });

  test('an unfinished chunked body is not complete, and a close does not complete it', () => {
    assert.equal(read('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n').complete, false);
    assert.equal(read('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n', { close: true }).complete, false);
    assert.equal(read('HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello', { close: true }).complete, false);
  });

  test('no framing: the body runs until the server closes', () => {
    const open = readEverySplit('HTTP/1.0 200 OK\r\nServer: old\r\n\r\nuntil the end');
    assert.deepEqual(open.framing, { kind: 'until-close' });
    assert.equal(open.body, 'until the end');
    assert.equal(open.complete, false);
    assert.equal(read('HTTP/1.0 200 OK\r\n\r\nuntil the end', { close: true }).complete, true);
  });

  test('HEAD, 204 and 304 have no body whatever their fields say', () => {
    for (const [wire, method] of [
      ['HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n', 'HEAD'],
      ['HTTP/1.1 204 No Content\r\nContent-Length: 100\r\n\r\nignored', 'GET'],
      ['HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n', 'GET'],
    ] as const) {
      const r = readEverySplit(wire, { method });
      assert.deepEqual(r.framing, { kind: 'none' });
      assert.equal(r.complete, true);
      assert.equal(r.body, '');
    }
    assert.equal(read('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n').complete, true);
  });

  test('interim 100 and 103 answers are skipped; the final head is the one kept', () => {
    const r = readEverySplit('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 302 Found\r\nLocation: https://storage.example/a\r\nContent-Length: 0\r\n\r\n');
    assert.equal(r.head.status, 302);
    assert.deepEqual(r.head.rawHeaders, ['Location', 'https://storage.example/a', 'Content-Length', '0']);
  });

  test('a status line without a reason phrase; obs-text in a value is kept as latin1; equal Content-Length copies agree', () => {
    assert.equal(read('HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n').head.status, 404);
    assert.equal(read('HTTP/1.1 200 \r\nX-Name: caf\xe9\r\nContent-Length: 0\r\n\r\n').head.rawHeaders[1], 'caf\xe9');
    assert.deepEqual(read('HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\ncontent-length: 03\r\n\r\nabc').framing, { kind: 'length', length: 3 });
  });

  test('the head may end across two reads at any of its four bytes', () => {
    const wire = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok';
    // The first read ends one to four bytes short of the head's end.
    for (let cut = wire.length - 6; cut < wire.length - 2; cut++) {
      const parser = new Http1ResponseParser('GET');
      const first = Buffer.from(wire.slice(0, cut), 'latin1');
      assert.equal(parser.readHead(first), first.length);
      const second = Buffer.from(wire.slice(cut), 'latin1');
      const used = parser.readHead(second);
      assert.equal(parser.head?.status, 200, `cut at ${cut}`);
      assert.equal(second.subarray(used).toString(), 'ok');
    }
  });
});

describe('Http1ResponseParser: forged answers it refuses', () => {
  test('a body framed two ways, or by a coding it cannot undo (the digest would be over other bytes)', () => {
    refuses('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n5\r\nhello\r\n0\r\n\r\n', /both Transfer-Encoding and Content-Length/);
    refuses('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n', /other than chunked/);
    refuses('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n', /other than chunked/);
    refuses('HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\n', /other than chunked/);
    refuses('HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', /HTTP\/1\.0/);
  });

  test('Content-Length that is not one plain number', () => {
    refuses('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello', /conflicting/);
    refuses('HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello', /conflicting/);
    for (const value of ['-1', '+5', '0x10', '5 5', '1e3', '', '1234567890123456']) refuses(`HTTP/1.1 200 OK\r\nContent-Length: ${value}\r\n\r\n`, /malformed Content-Length/);
  });

  test('line ends and fields other parsers would read differently (header smuggling)', () => {
    refuses('HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n', /bare CR or LF/);
    refuses('HTTP/1.1 200 OK\r\nX-A: a\rContent-Length: 0\r\n\r\n', /bare CR or LF/);
    refuses('HTTP/1.1 200 OK\r\nX-A: a\r\n continued\r\nContent-Length: 0\r\n\r\n', /obsolete line folding/);
    refuses('HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n', /malformed header field/);
    refuses('HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 0\r\n\r\n', /malformed header field/);
    refuses('HTTP/1.1 200 OK\r\nX-A: a\x7fb\r\n\r\n', /malformed header field/);
    refuses('HTTP/1.1 200 OK\r\nno colon here\r\n\r\n', /malformed header field/);
    refuses('HTTP/1.1 200 OK\r\n: no name\r\n\r\n', /malformed header field/);
  });

  test('status lines that are not HTTP/1.x with a three-digit code; 101 never asked for', () => {
    for (const line of ['HTTP/2 200 OK', 'HTTP/1.1 20 OK', 'HTTP/1.1 2000 OK', 'HTTP/1.1 099 Low', 'http/1.1 200 OK', 'HTTP/1.1  200 OK', 'ICY 200 OK', 'HTTP/1.1 200 OK\x01'])
      refuses(`${line}\r\nContent-Length: 0\r\n\r\n`, /malformed status line/);
    refuses('HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n', /protocol switch/);
  });

  test('heads past the limits, counted over interim answers too', () => {
    const big = `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`;
    refuses(big, /head too large/);
    refuses(big, /head too large/, { piece: 1000 });
    const many = `HTTP/1.1 200 OK\r\n${Array.from({ length: 129 }, (_, i) => `X-${i}: v\r\n`).join('')}\r\n`;
    refuses(many, /too many header fields/);
    const interim = 'HTTP/1.1 100 Continue\r\n\r\n'.repeat(3000);
    refuses(`${interim}HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n`, /head too large/, { piece: 4096 });
    // A head that never ends is refused at the limit, not buffered without end.
    refuses(`HTTP/1.1 200 OK\r\n${'X: y\r\n'.repeat(20_000)}`, /head too large/, { piece: 512 });
  });

  test('a field value of many spaces, then a bad byte, is refused (a backtracking regex would not end)', () => {
    // With OWS matched by a lazy regex this took minutes, past the test runner's timeout.
    refuses(`HTTP/1.1 200 OK\r\nX-A: ${' '.repeat(60_000)}\x01\r\n\r\n`, /malformed header field/);
    refuses(`HTTP/1.1 200 OK\r\nX-A: a${' '.repeat(60_000)}\x01\r\n\r\n`, /malformed header field/);
  });

  test('chunk framing: sizes, line ends, extensions and trailers', () => {
    const chunked = (rest: string) => `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${rest}`;
    refuses(chunked('g\r\n'), /malformed chunk size/);
    refuses(chunked('\r\n'), /malformed chunk size/);
    refuses(chunked('-5\r\nhello\r\n'), /malformed chunk size/);
    refuses(chunked('5 6\r\nhello\r\n'), /malformed chunk size/);
    refuses(chunked('1000000000000\r\n'), /chunk size too large/);
    refuses(chunked('5\nhello\r\n'), /malformed chunk size/);
    refuses(chunked('5\r\rhello\r\n'), /bare CR in a chunk line/);
    refuses(chunked('5\r\nhello!\r\n'), /chunk longer than its size/);
    refuses(chunked('5\r\nhello\rX'), /bare CR after chunk data/);
    refuses(chunked('5;a=\x01\r\nhello\r\n'), /malformed chunk extension/);
    refuses(chunked(`5;${'e'.repeat(5000)}\r\n`), /chunk line too long/);
    refuses(chunked('0\r\nTrailer: a\nb\r\n\r\n'), /malformed chunked trailer/);
    refuses(chunked('0\r\nTrailer: a\r\rb'), /malformed chunked trailer/);
    refuses(chunked(`0\r\n${'T: v\r\n'.repeat(12_000)}`), /chunked trailer too large/, { piece: 4096 });
  });

  test('a 12-digit chunk size is read exactly (no float rounding of the length)', () => {
    const parser = new Http1ResponseParser('GET');
    parser.readHead(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'));
    let got = 0;
    assert.equal(parser.readBody(Buffer.from('fffffffffff1\r\nabc'), (c) => (got += c.length)), false);
    assert.equal(got, 3);
  });
});
