import { createHash } from 'node:crypto';
import { type ClientRequest, type IncomingMessage, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { SourceError } from '../source.error';
import { type Flow, OffloadedSha256 } from './sha256-offload';
import { type HopRequest, type HttpSettings, type Watchdog, checkScheme, hopHeaders, isRedirect, redirectTarget, tooLarge, transportError } from './registry-http';

/**
 * GET on node:http(s) for bodies that are hashed as they stream (release assets, up to GiBs).
 * fetch hands every chunk through a web stream and a promise per read; node:http's 'data' events
 * cost a fifth less CPU per GiB (bench/download-hash, its fetch and node:http lines), and large
 * bodies are hashed on a thread of their own (sha256-offload), overlapping the socket reads.
 *
 * The rules are openRequest's, from the same helpers: redirects followed by hand, at most
 * `maxRedirects`, https unless the host is listed insecure, Authorization only on the origin it
 * was issued for (`hopHeaders`, `redirectTarget`); one Watchdog for the whole download (idle
 * timeout, the overall deadline armed once, the verify job's abort), whose abort destroys the
 * socket; errors as openRequest's (`transportError`: a system error code, never a message).
 * Unlike fetch, node:http never decompresses: the digest is always over the bytes as sent.
 */
export interface OpenDownload {
  readonly status: number;
  /** The answer's headers read as fetch's (duplicates joined): status, rate limit, Retry-After. */
  readonly headers: Headers;
  /** Where the final answer came from (after redirects). */
  readonly url: URL;
  /** Short, secret-free description for error messages: method, host, path of the first hop. */
  readonly what: string;
  readonly watchdog: Watchdog;
  /** The body, not read yet: consume it with hashDownload, readDownload or discardDownload. */
  readonly message: IncomingMessage;
}

export async function openDownload(req: HopRequest, settings: HttpSettings, watchdog: Watchdog): Promise<OpenDownload> {
  const what = `${req.method} ${req.url.host}${req.url.pathname}`;
  let url = req.url;
  checkScheme(url, settings, what);
  watchdog.arm();
  for (let hop = 0; ; hop++) {
    let message: IncomingMessage;
    try {
      message = await send(req.method, url, hopHeaders(req, url, settings), watchdog);
    } catch (error) {
      watchdog.disarm();
      settings.onOutcome?.(watchdog.fired ? 'timeout' : 'network');
      // node:http's errors carry their code themselves; transportError reads it from `cause`.
      throw transportError({ cause: error }, watchdog, what);
    }
    const status = message.statusCode ?? 0;
    if (!isRedirect(status)) {
      let headers: Headers;
      try {
        headers = headersOf(message);
      } catch {
        release(watchdog, message);
        throw new SourceError('registry-bad-response', `${what}: unreadable response headers`);
      }
      settings.onOutcome?.(status);
      return { status, headers, url, what, watchdog, message };
    }
    // Nothing of a redirect's body is wanted, and the connection is not reused (agent: false).
    message.destroy();
    url = redirectTarget(firstHeader(message.headers.location), url, hop, settings, watchdog, what);
  }
}

/**
 * Bodies at least this large (by their Content-Length) are hashed on the hashing thread
 * (sha256-offload); smaller ones hash here in a few milliseconds, no port or batch needed.
 */
export const OFFLOAD_FROM_BYTES = 16 * 1024 * 1024;

/**
 * Streams the body through SHA-256 once, failing past `limit` bytes; keeps the bytes only while
 * there are no more than `keepUpTo` of them (evidence files, not binaries).
 */
export async function hashDownload(opened: OpenDownload, limit: number, keepUpTo: number): Promise<{ sha256: string; size: number; bytes?: Buffer }> {
  const length = contentLength(opened);
  const offload = length !== undefined && length >= OFFLOAD_FROM_BYTES && length <= limit ? new OffloadedSha256() : undefined;
  const hash = offload === undefined ? createHash('sha256') : undefined;
  let sha256 = '';
  let kept: Buffer[] | undefined = keepUpTo > 0 ? [] : undefined;
  let size = 0;
  await consume(opened, limit, {
    write: (chunk) => {
      if (offload !== undefined) offload.write(chunk);
      else hash!.update(chunk);
      size += chunk.length;
      if (kept === undefined) return;
      // node:http hands each chunk over in a Buffer of its own: kept as is, not copied.
      if (size <= keepUpTo) kept.push(chunk);
      else kept = undefined; // over: let go of what was kept so far, now rather than at the end
    },
    attach: (flow) => offload?.attach(flow),
    end: async () => {
      sha256 = offload !== undefined ? await offload.end() : hash!.digest('hex');
    },
    abandon: () => offload?.abandon(),
  });
  return { sha256, size, bytes: kept === undefined ? undefined : Buffer.concat(kept, size) };
}

/** The whole body, at most `limit` bytes (a small error answer). */
export async function readDownload(opened: OpenDownload, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  await consume(opened, limit, { write: (chunk) => parts.push(chunk) });
  return Buffer.concat(parts);
}

/** The body is not wanted: the connection is closed, and no timer of the download fires any more. */
export function discardDownload(opened: OpenDownload): void {
  opened.watchdog.disarm();
  opened.message.destroy();
}

/** Where consume puts a body's chunks. */
interface BodySink {
  write(chunk: Buffer): void;
  /** Given the means to hold the body back (pause, resume) or end it (fail) before the first chunk. */
  attach?(flow: Flow): void;
  /** After the last chunk: settles when the sink is done with it (the hashing thread's digest). */
  end?(): Promise<void>;
  /** The body failed or was refused: the sink drops what it holds. */
  abandon?(): void;
}

/**
 * Hands every chunk of the body to the sink. Threats: a body larger than allowed (refused by its
 * Content-Length before a byte is read, and aborted as soon as it runs past `limit` if it lied
 * or sent none), a body that stalls or trickles (the watchdog: each chunk notes progress for the
 * idle timeout, no chunk extends the deadline), a body cut short (an error, never a short hash).
 * The watchdog stays armed until the sink is done: its deadline and the job's abort hold there too.
 */
function consume(opened: OpenDownload, limit: number, sink: BodySink): Promise<void> {
  const { message, watchdog, what } = opened;
  const length = contentLength(opened);
  if (length !== undefined && length > limit) {
    release(watchdog, message);
    return Promise.reject(tooLarge(what, limit));
  }
  const signal = watchdog.controller.signal;
  return new Promise<void>((resolve, reject) => {
    let size = 0;
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      message.off('data', onData);
      signal.removeEventListener('abort', onAbort);
      if (error === undefined) {
        watchdog.disarm();
        resolve();
      } else {
        sink.abandon?.();
        release(watchdog, message);
        reject(error);
      }
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return finish(tooLarge(what, limit));
      sink.write(chunk);
      watchdog.arm();
    };
    const onEnd = () => {
      if (sink.end === undefined) return finish();
      sink.end().then(
        () => finish(),
        (error: Error) => finish(error),
      );
    };
    // The watchdog fired (idle, deadline, the job's abort): its reason names the error.
    const onAbort = () => finish(transportError(signal.reason, watchdog, what));
    sink.attach?.({
      pause: () => message.pause(),
      resume: () => {
        if (!settled) message.resume();
      },
      fail: (error) => finish(error),
    });
    message.on('data', onData);
    message.once('end', onEnd);
    message.once('error', (error) => finish(transportError({ cause: error }, watchdog, what)));
    // Closed before its end (the server hung up mid-body): a network error, not a shorter asset.
    message.once('close', () => {
      if (!message.complete) finish(watchdog.fired ? transportError(undefined, watchdog, what) : new SourceError('network-error', `${what}: ECONNRESET`));
    });
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The announced body length, when it is one well-formed number. */
function contentLength(opened: OpenDownload): number | undefined {
  const announced = firstHeader(opened.message.headers['content-length']);
  return announced !== null && /^\d+$/.test(announced) ? Number(announced) : undefined;
}

/** Ends a download we gave up on: its timers stop, its socket is closed. */
function release(watchdog: Watchdog, message: IncomingMessage): void {
  watchdog.cancel();
  message.destroy();
}

/**
 * One hop. `agent: false`: a connection of its own, closed after the answer (the storage host is
 * another host anyway, and no pool settings or socket timeouts run per chunk). The watchdog's
 * signal destroys the request (and so the socket) whenever it fires, before or after the answer.
 */
function send(method: HopRequest['method'], url: URL, headers: Record<string, string>, watchdog: Watchdog): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    let request: ClientRequest;
    try {
      request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method, headers, agent: false, signal: watchdog.controller.signal });
    } catch (error) {
      // A header value node:http refuses (a control character in a configured token, say).
      reject(error);
      return;
    }
    // Kept for the request's whole life: socket errors after the answer are emitted here too
    // (the body reader learns of them from the message's own 'error' and 'close').
    request.on('error', reject);
    request.once('response', (message: IncomingMessage) => {
      message.on('error', () => undefined);
      resolve(message);
    });
    request.end();
  });
}

function headersOf(message: IncomingMessage): Headers {
  const headers = new Headers();
  const raw = message.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i], raw[i + 1]);
  return headers;
}

function firstHeader(value: string | string[] | undefined): string | null {
  if (value === undefined) return null;
  return Array.isArray(value) ? (value[0] ?? null) : value;
}
