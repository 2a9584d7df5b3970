import { validateHeaderName, validateHeaderValue } from 'node:http';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { type ConnectionOptions, connect as tlsConnect } from 'node:tls';
import { DEFAULT_HTTP1_LIMITS, type Http1ResponseLimits, Http1ResponseParser } from './http1-response.parser';

/**
 * One HTTP/1.1 request on a connection of its own (plain or TLS), for bodies read at the
 * transport's speed. node:http hands every 64 KiB read over in a fresh Buffer and through a
 * Readable; here the socket reads into one buffer that is reused (net's `onread`), and the body's
 * bytes go to the sink as views of it, to be hashed or copied before the call returns. On this
 * machine that halves the CPU a GiB costs (bench/download-hash).
 *
 * No pooling and no keep-alive (`Connection: close`), no decompression, no proxy: the same as the
 * node:http path it replaces (`agent: false`). TLS is node:tls's defaults: the system's CAs (and
 * NODE_EXTRA_CA_CERTS), the host name checked against the certificate, SNI for names only, and
 * ALPN offering HTTP/1.1 alone, so no server answers in h2.
 */

/** Reads land here; 64 KiB measured faster than 1 MiB (cache), and TLS records are 16 KiB anyway. */
const READ_BUFFER_BYTES = 64 * 1024;

/** Where a body's bytes go. Views are valid only during the call: the read buffer is reused. */
export interface Http1BodySink {
  content(view: Uint8Array): void;
  /** The body ended as framed (or at the close, for a close-delimited one). */
  end(): void;
  /** Cut short, malformed, or the socket failed: no more calls follow. */
  error(error: Error): void;
}

export interface Http1Body {
  /** Starts handing the body to `sink` (once); bytes that came with the head go first. */
  read(sink: Http1BodySink): void;
  /** Stops reading the socket (backpressure) until `resume`. */
  pause(): void;
  resume(): void;
  /** Closes the connection; the sink hears nothing more. */
  destroy(): void;
}

export interface Http1Answer {
  readonly status: number;
  /** Names and values as sent, in order (latin1), as node:http's rawHeaders. */
  readonly rawHeaders: readonly string[];
  /** The body's length when Content-Length frames it (every copy of the field agreeing). */
  readonly contentLength: number | undefined;
  readonly body: Http1Body;
}

/** The connection failed before or during the answer; `cause` carries node's error (its `code`). */
export class Http1ExchangeError extends Error {
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
    this.name = 'Http1ExchangeError';
  }
}

export interface Http1Request {
  readonly method: 'GET' | 'HEAD';
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  /** Destroys the connection whenever it aborts, before or after the answer. */
  readonly signal: AbortSignal;
  readonly limits?: Http1ResponseLimits;
}

/**
 * Sends the request and settles with the final answer's head; the body waits, unread, until
 * `body.read`. Rejects with Http1ProtocolError for a malformed answer, Http1ExchangeError for a
 * connection that failed, or the signal's reason once it aborted.
 */
export function exchangeHttp1(request: Http1Request): Promise<Http1Answer> {
  const { method, url, signal } = request;
  // Throws on a header node:http would refuse (CR, LF or NUL in a configured token, say):
  // a header can never be split into two.
  const head = requestHead(method, url, request.headers);
  return new Promise<Http1Answer>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const parser = new Http1ResponseParser(method, request.limits ?? DEFAULT_HTTP1_LIMITS);
    let answered = false;
    let sink: Http1BodySink | undefined;
    let content: (view: Uint8Array) => void = () => undefined;
    /** Body bytes that came in the same read as the head, kept until a sink is given. */
    let early: Buffer | undefined;
    let paused = false;
    /** The connection is closed (body done, failed, destroyed): nothing more is read or told. */
    let over = false;
    /** How the body ended before a sink was given, told to it by read(). */
    let endedEarly: { error?: Error } | undefined;

    const close = () => {
      over = true;
      signal.removeEventListener('abort', onAbort);
      socket.destroy();
    };
    const fail = (error: Error) => {
      if (over) return;
      close();
      if (!answered) reject(error);
      else if (sink !== undefined) sink.error(error);
      else endedEarly = { error };
    };
    const finishBody = () => {
      if (over) return;
      close();
      if (sink !== undefined) sink.end();
      else endedEarly = {};
    };
    const onAbort = () => fail(signal.reason instanceof Error ? signal.reason : new Error('aborted'));

    const onRead = (n: number, buffer: Uint8Array): boolean => {
      if (over) return false;
      const bytes = buffer.subarray(0, n);
      try {
        if (!answered) {
          const used = parser.readHead(bytes);
          const final = parser.head;
          if (final === undefined) return true;
          answered = true;
          if (used < bytes.length) early = Buffer.from(bytes.subarray(used));
          const framing = parser.framing;
          resolve({ status: final.status, rawHeaders: final.rawHeaders, contentLength: framing?.kind === 'length' ? framing.length : undefined, body });
          // Nothing more is read until the caller has a sink: the buffer is reused.
          return false;
        }
        if (parser.readBody(bytes, content)) {
          finishBody();
          return false;
        }
        return !paused;
      } catch (error) {
        fail(error as Error);
        return false;
      }
    };

    const body: Http1Body = {
      read(given) {
        if (sink !== undefined) throw new Error('the body is read once');
        sink = given;
        content = (view) => given.content(view);
        if (endedEarly !== undefined) return endedEarly.error === undefined ? given.end() : given.error(endedEarly.error);
        if (over) return;
        try {
          if (early !== undefined && parser.readBody(early, content)) return finishBody();
          early = undefined;
          if (parser.bodyComplete) return finishBody();
        } catch (error) {
          return fail(error as Error);
        }
        if (!paused) socket.resume();
      },
      pause() {
        paused = true;
        if (sink !== undefined && !over) socket.pause();
      },
      resume() {
        paused = false;
        if (sink !== undefined && !over) socket.resume();
      },
      destroy() {
        if (!over) close();
      },
    };

    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    // URL keeps an IPv6 literal in brackets; the socket wants the bare address.
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    const onread = { buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES), callback: onRead };
    const socket: Socket =
      url.protocol === 'https:'
        ? // tls.connect has taken `onread` since Node 15 (nodejs/node#35753); @types/node lacks it.
          tlsConnect({ host, port, servername: isIP(host) === 0 ? host : undefined, ALPNProtocols: ['http/1.1'], onread } as ConnectionOptions)
        : netConnect({ host, port, onread });
    socket.on('error', (error) => fail(new Http1ExchangeError(`connection failed`, { cause: error })));
    // The server closed its side: the end of a close-delimited body, or an answer cut short.
    const cutShort = () => fail(new Http1ExchangeError('connection closed before the answer was complete', { cause: { code: 'ECONNRESET' } }));
    socket.on('end', () => {
      if (over) return;
      if (answered && parser.closed()) return finishBody();
      cutShort();
    });
    socket.on('close', cutShort);
    signal.addEventListener('abort', onAbort, { once: true });
    socket.write(head);
  });
}

/** The request head, every field checked as node:http checks it. */
function requestHead(method: string, url: URL, headers: Readonly<Record<string, string>>): string {
  const target = `${url.pathname}${url.search}`;
  // WHATWG URL percent-encodes spaces and controls; anything else here is refused, not sent.
  if (!/^\/[\x21-\x7e]*$/.test(target)) {
    throw Object.assign(new TypeError('request target has characters that may not be sent'), { code: 'ERR_UNESCAPED_CHARACTERS' });
  }
  let head = `${method} ${target} HTTP/1.1\r\nHost: ${url.host}\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    validateHeaderName(name);
    validateHeaderValue(name, value);
    head += `${name}: ${value}\r\n`;
  }
  return `${head}Connection: close\r\n\r\n`;
}
