import { createHash } from 'node:crypto';
import { type HopRequest, type HttpSettings, type Watchdog, checkScheme, hopHeaders, isRedirect, redirectTarget, tooLarge, transportError } from '../oci/registry-http';
import { type Flow, OffloadedSha256 } from '../oci/sha256-offload';
import { SourceError } from '../source.error';
import { type Http1Answer, type Http1Body, Http1ExchangeError, exchangeHttp1 } from './http1-exchange';
import { Http1ProtocolError } from './http1-response.parser';

/**
 * GET for bodies that are hashed as they stream (release assets, up to GiBs), on exchangeHttp1:
 * the socket reads into one reused buffer, and each read is hashed (or copied for the hashing
 * thread) before the next, with no Buffer, Readable or promise per chunk. Per GiB, fetch's web
 * streams cost more CPU than node:http, and node:http about twice this path (bench/download-hash);
 * large bodies are hashed on a thread of their own (sha256-offload), overlapping the socket reads.
 *
 * The rules are openRequest's, from the same helpers: redirects followed by hand, at most
 * `maxRedirects`, https unless the host is listed insecure, Authorization only on the origin it
 * was issued for (`hopHeaders`, `redirectTarget`); one Watchdog for the whole download (idle
 * timeout, the overall deadline armed once, the verify job's abort), whose abort destroys the
 * socket; errors as openRequest's (`transportError`: a system error code, never a message), and
 * an answer the strict parser refuses as registry-bad-response. Nothing is decompressed: the
 * digest is always over the bytes as sent.
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
  readonly body: Http1Body;
  /** The announced length, when Content-Length frames the body (every copy of it agreeing). */
  readonly contentLength: number | undefined;
}

export async function openDownload(req: HopRequest, settings: HttpSettings, watchdog: Watchdog): Promise<OpenDownload> {
  const what = `${req.method} ${req.url.host}${req.url.pathname}`;
  let url = req.url;
  checkScheme(url, settings, what);
  watchdog.arm();
  for (let hop = 0; ; hop++) {
    let answer: Http1Answer;
    try {
      answer = await exchangeHttp1({ method: req.method, url, headers: hopHeaders(req, url, settings), signal: watchdog.controller.signal });
    } catch (error) {
      watchdog.disarm();
      settings.onOutcome?.(watchdog.fired ? 'timeout' : 'network');
      throw answerError(error, watchdog, what);
    }
    const status = answer.status;
    if (!isRedirect(status)) {
      let headers: Headers;
      try {
        headers = headersOf(answer.rawHeaders);
      } catch {
        release(watchdog, answer.body);
        throw new SourceError('registry-bad-response', `${what}: unreadable response headers`);
      }
      settings.onOutcome?.(status);
      return { status, headers, url, what, watchdog, body: answer.body, contentLength: answer.contentLength };
    }
    // Nothing of a redirect's body is wanted, and the connection is not reused.
    answer.body.destroy();
    url = redirectTarget(firstField(answer.rawHeaders, 'location') ?? null, url, hop, settings, watchdog, what);
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
  const length = opened.contentLength;
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
      // A view of the read buffer, which the next read overwrites: copied to be kept.
      if (size <= keepUpTo) kept.push(Buffer.from(chunk));
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
  await consume(opened, limit, { write: (chunk) => parts.push(Buffer.from(chunk)) });
  return Buffer.concat(parts);
}

/** The body is not wanted: the connection is closed, and no timer of the download fires any more. */
export function discardDownload(opened: OpenDownload): void {
  opened.watchdog.disarm();
  opened.body.destroy();
}

/** Where consume puts a body's chunks. */
interface BodySink {
  /** A view of the read buffer, valid during the call only. */
  write(chunk: Uint8Array): void;
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
  const { body, watchdog, what } = opened;
  const length = opened.contentLength;
  if (length !== undefined && length > limit) {
    release(watchdog, body);
    return Promise.reject(tooLarge(what, limit));
  }
  const signal = watchdog.controller.signal;
  return new Promise<void>((resolve, reject) => {
    let size = 0;
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (error === undefined) {
        watchdog.disarm();
        resolve();
      } else {
        sink.abandon?.();
        release(watchdog, body);
        reject(error);
      }
    };
    // The watchdog fired (idle, deadline, the job's abort): its reason names the error.
    const onAbort = () => finish(transportError(signal.reason, watchdog, what));
    sink.attach?.({
      pause: () => body.pause(),
      resume: () => {
        if (!settled) body.resume();
      },
      fail: (error) => finish(error),
    });
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    body.read({
      content: (chunk) => {
        if (settled) return;
        size += chunk.length;
        if (size > limit) return finish(tooLarge(what, limit));
        sink.write(chunk);
        watchdog.arm();
      },
      end: () => {
        if (settled) return;
        if (sink.end === undefined) return finish();
        sink.end().then(
          () => finish(),
          (error: Error) => finish(error),
        );
      },
      // Closed before its end (the server hung up mid-body): a network error, not a shorter asset.
      error: (error) => finish(answerError(error, watchdog, what)),
    });
  });
}

/** Ends a download we gave up on: its timers stop, its socket is closed. */
function release(watchdog: Watchdog, body: Http1Body): void {
  watchdog.cancel();
  body.destroy();
}

/**
 * Why an exchange failed, before or during the body: the watchdog's reason when it fired, a
 * refused answer as registry-bad-response (the parser's reasons are fixed texts: nothing of the
 * answer's bytes reaches the message), else the connection's system error code.
 */
function answerError(error: unknown, watchdog: Watchdog, what: string): SourceError {
  if (!watchdog.fired && error instanceof Http1ProtocolError) return new SourceError('registry-bad-response', `${what}: malformed answer (${error.reason})`);
  // Http1ExchangeError carries node's error as its cause; a header node:http refuses is thrown bare.
  return transportError(error instanceof Http1ExchangeError ? error : { cause: error }, watchdog, what);
}

function headersOf(raw: readonly string[]): Headers {
  const headers = new Headers();
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i], raw[i + 1]);
  return headers;
}

/** The first value of a field: a second Location is never joined to the first. */
function firstField(raw: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i].toLowerCase() === name) return raw[i + 1];
  return undefined;
}
