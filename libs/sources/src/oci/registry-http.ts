import { currentAbortSignal } from '../abort-scope';
import { SourceError } from '../source.error';

/** Settings shared by every request of one client. */
export interface HttpSettings {
  /** Idle timeout: no answer, or no new chunk of a streamed body, for this long. */
  readonly timeoutMs: number;
  /**
   * Overall deadline of one request, body included, that no chunk extends (a body trickled a
   * byte at a time would otherwise keep the request alive forever). Unset: only the idle timeout.
   */
  readonly deadlineMs?: number;
  readonly userAgent: string;
  /** `host:port` (or bare host) values that may be spoken to over plain http. */
  readonly insecureHosts: ReadonlySet<string>;
  readonly maxRedirects: number;
  /**
   * Told how each request ended: the final HTTP status, or `timeout`/`network`. For metrics; it
   * gets no URL, header or body, so nothing secret can leak into a label.
   */
  readonly onOutcome?: (outcome: RequestOutcome) => void;
}

export type RequestOutcome = number | 'timeout' | 'network';

export interface HopRequest {
  readonly method: 'GET' | 'HEAD';
  readonly url: URL;
  readonly headers: Readonly<Record<string, string>>;
  /** Sent only to hops whose origin equals `origin`; dropped on any other host (storage redirects). */
  readonly authorization?: { readonly origin: string; readonly value: string };
}

/** A response whose body has not been read yet, with the timer that guards it. */
export interface OpenResponse {
  readonly response: Response;
  /** Where the final response came from (after redirects). */
  readonly url: URL;
  readonly watchdog: Watchdog;
  /** Short, secret-free description for error messages: method, host, path of the first hop. */
  readonly what: string;
}

/** Why a Watchdog stopped its request. */
export type WatchdogReason = 'idle' | 'deadline' | 'aborted';

export interface WatchdogOptions {
  /** Overall deadline from the first `arm`; re-arming never extends it. */
  readonly totalMs?: number;
  /** An outer abort (the verify job's deadline): the request stops with it. */
  readonly signal?: AbortSignal;
}

/**
 * One AbortController per logical request. `arm` (re)starts the idle countdown: once for a whole
 * document, or per chunk for blobs, so that a slow but steady download survives and a stalled one
 * does not. The total deadline starts with the first `arm` and is never re-armed: a server that
 * trickles one byte just inside the idle timeout still cannot hold the request past it.
 */
export class Watchdog {
  readonly controller = new AbortController();
  private idleTimer: NodeJS.Timeout | undefined;
  private totalTimer: NodeJS.Timeout | undefined;
  private totalStarted = false;
  private readonly onOuterAbort = () => this.fire('aborted');
  private progressAt = 0;
  private readonly onIdle = () => {
    const quiet = Date.now() - this.progressAt;
    if (quiet >= this.ms) return this.fire('idle');
    this.idleTimer = setTimeout(this.onIdle, this.ms - quiet);
  };
  /** Set when the watchdog (not the server, not the consumer) stopped the request. */
  reason: WatchdogReason | undefined;

  constructor(
    private readonly ms: number,
    private readonly options: WatchdogOptions = {},
  ) {
    const signal = options.signal;
    if (signal?.aborted) this.fire('aborted');
    else signal?.addEventListener('abort', this.onOuterAbort, { once: true });
  }

  /** The watchdog for one request of a client: its idle timeout, its deadline, the job's signal. */
  static for(settings: Pick<HttpSettings, 'timeoutMs' | 'deadlineMs'>): Watchdog {
    return new Watchdog(settings.timeoutMs, { totalMs: settings.deadlineMs, signal: currentAbortSignal() });
  }

  get fired(): boolean {
    return this.reason !== undefined;
  }

  /** The overall deadline in milliseconds, if any. */
  get totalMs(): number | undefined {
    return this.options.totalMs;
  }

  /**
   * (Re)starts the idle countdown. Called for every chunk of a download, so it only notes the
   * time: one timer per request checks, when it comes due, whether there was progress since,
   * and waits for the rest if there was (a timer per chunk cost a third of the download speed).
   */
  arm(): void {
    if (this.reason !== undefined) return;
    this.progressAt = Date.now();
    if (this.idleTimer === undefined) this.idleTimer = setTimeout(this.onIdle, this.ms);
    if (!this.totalStarted && this.options.totalMs !== undefined) {
      this.totalStarted = true;
      this.totalTimer = setTimeout(() => this.fire('deadline'), this.options.totalMs);
    }
  }

  /** The request is over (answered, or given up by its caller): no timer may fire any more. */
  disarm(): void {
    if (this.idleTimer !== undefined) clearTimeout(this.idleTimer);
    if (this.totalTimer !== undefined) clearTimeout(this.totalTimer);
    this.idleTimer = undefined;
    this.totalTimer = undefined;
    this.options.signal?.removeEventListener('abort', this.onOuterAbort);
  }

  /** Stops the request for good (we no longer want the body). */
  cancel(): void {
    this.disarm();
    this.controller.abort();
  }

  private fire(reason: WatchdogReason): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.disarm();
    this.controller.abort();
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

export function originFor(host: string, settings: HttpSettings): string {
  return `${isInsecureHost(host, settings) ? 'http' : 'https'}://${host}`;
}

function isInsecureHost(host: string, settings: HttpSettings): boolean {
  return settings.insecureHosts.has(host.toLowerCase());
}

/**
 * Sends a request and follows redirects by hand: at most `maxRedirects`, only to https (or to a
 * host listed as insecure), and with the Authorization header only while the hop stays on the
 * origin it was issued for. Registries routinely redirect blob downloads to storage hosts
 * (S3, GCS, CDNs) that must never see registry credentials.
 */
export async function openRequest(req: HopRequest, settings: HttpSettings, watchdog = Watchdog.for(settings)): Promise<OpenResponse> {
  const what = `${req.method} ${req.url.host}${req.url.pathname}`;
  let url = req.url;
  checkScheme(url, settings, what);
  watchdog.arm();
  for (let hop = 0; ; hop++) {
    let response: Response;
    try {
      response = await fetch(url, { method: req.method, headers: hopHeaders(req, url, settings), redirect: 'manual', signal: watchdog.controller.signal });
    } catch (error) {
      watchdog.disarm();
      settings.onOutcome?.(watchdog.fired ? 'timeout' : 'network');
      throw transportError(error, watchdog, what);
    }
    if (!isRedirect(response.status)) {
      settings.onOutcome?.(response.status);
      return { response, url, watchdog, what };
    }

    await discardBody(response);
    url = redirectTarget(response.headers.get('location'), url, hop, settings, watchdog, what);
  }
}

export function isRedirect(status: number): boolean {
  return REDIRECTS.has(status);
}

/**
 * The headers of one hop: ours, the caller's, and Authorization only while the hop is on the
 * origin the credential was issued for. Threat: a redirect to storage (another host) carrying
 * the registry's or GitHub's token away.
 */
export function hopHeaders(req: HopRequest, url: URL, settings: HttpSettings): Record<string, string> {
  const headers: Record<string, string> = {
    'user-agent': settings.userAgent,
    // Identity only: digests are over the stored bytes, and no decompression bombs.
    'accept-encoding': 'identity',
    ...req.headers,
  };
  if (req.authorization !== undefined && url.origin === req.authorization.origin) {
    headers.authorization = req.authorization.value;
  }
  return headers;
}

/**
 * Where a redirect answer (`hop` redirects followed before it) may lead, by the rules every
 * transport keeps: a Location, at most `maxRedirects`, and https unless the host is listed
 * insecure (threat: a downgrade to plain http that anyone on the path can read and rewrite).
 * Anything else ends the request: the watchdog is cancelled and the refusal thrown.
 */
export function redirectTarget(location: string | null, from: URL, hop: number, settings: HttpSettings, watchdog: Watchdog, what: string): URL {
  if (location === null) {
    watchdog.cancel();
    throw new SourceError('registry-bad-response', `${what}: redirect without Location`);
  }
  if (hop + 1 > settings.maxRedirects) {
    watchdog.cancel();
    throw new SourceError('registry-redirect-refused', `${what}: more than ${settings.maxRedirects} redirects`);
  }
  let next: URL;
  try {
    next = new URL(location, from);
  } catch {
    watchdog.cancel();
    throw new SourceError('registry-bad-response', `${what}: unparseable redirect Location`);
  }
  try {
    checkScheme(next, settings, what, true);
  } catch (err) {
    watchdog.cancel();
    throw err;
  }
  return next;
}

export function checkScheme(url: URL, settings: HttpSettings, what: string, redirected = false): void {
  const ok = url.protocol === 'https:' || (url.protocol === 'http:' && isInsecureHost(url.host, settings));
  // User info in a URL would be sent as Basic credentials by some stacks; never expected here.
  if (ok && url.username === '' && url.password === '') return;
  throw new SourceError(
    redirected ? 'registry-redirect-refused' : 'registry-bad-response',
    redirected
      ? `${what}: refused redirect to ${url.protocol}//${url.host} (plain http is allowed only for insecure hosts)`
      : `${what}: refused ${url.protocol} URL (plain http is allowed only for insecure hosts)`,
  );
}

export function transportError(error: unknown, watchdog: Watchdog, what: string): SourceError {
  // All three are retryable: the same request may well complete on a later run.
  if (watchdog.reason === 'idle') return new SourceError('registry-timeout', `${what}: no answer in time`);
  if (watchdog.reason === 'deadline') return new SourceError('registry-timeout', `${what}: no complete answer within ${Math.round((watchdog.totalMs ?? 0) / 1000)} s`);
  if (watchdog.reason === 'aborted') return new SourceError('registry-timeout', `${what}: abandoned, the verification ran out of time`);
  // Only a system error code travels on: undici's messages may quote headers or URLs.
  const cause = (error as { cause?: { code?: unknown; name?: unknown } })?.cause;
  const raw = typeof cause?.code === 'string' ? cause.code : typeof cause?.name === 'string' ? cause.name : 'failed';
  const code = /^[A-Za-z0-9_]{1,40}$/.test(raw) ? raw : 'failed';
  return new SourceError('network-error', `${what}: ${code}`);
}

async function discardBody(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // nothing to do: the connection is dropped instead of reused
  }
}

/** Streams the body in chunks, failing past `limit` bytes. `idle` re-arms the idle timer per chunk (never the overall deadline). */
export async function* bodyChunks(opened: OpenResponse, limit: number, idle: boolean): AsyncGenerator<Buffer> {
  const { response, watchdog, what } = opened;
  const announced = response.headers.get('content-length');
  if (announced !== null && /^\d+$/.test(announced) && Number(announced) > limit) {
    watchdog.cancel();
    throw tooLarge(what, limit);
  }
  if (response.body === null) {
    watchdog.disarm();
    return;
  }
  const reader = response.body.getReader();
  let total = 0;
  let done = false;
  try {
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (error) {
        throw transportError(error, watchdog, what);
      }
      if (chunk.done) {
        done = true;
        return;
      }
      total += chunk.value.byteLength;
      if (total > limit) throw tooLarge(what, limit);
      if (idle) watchdog.arm();
      yield Buffer.from(chunk.value.buffer, chunk.value.byteOffset, chunk.value.byteLength);
    }
  } finally {
    if (done) watchdog.disarm();
    else {
      // Stop reading a body we gave up on (limit, error, or the consumer stopped early).
      watchdog.cancel();
      reader.cancel().catch(() => undefined);
    }
  }
}

export async function readBody(opened: OpenResponse, limit: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of bodyChunks(opened, limit, false)) parts.push(chunk);
  return Buffer.concat(parts);
}

export async function discard(opened: OpenResponse): Promise<void> {
  opened.watchdog.disarm();
  await discardBody(opened.response);
}

export function tooLarge(what: string, limit: number): SourceError {
  return new SourceError('registry-too-large', `${what}: body larger than ${limit} bytes`);
}

/**
 * Turns an unexpected status into a SourceError. The registry's error codes (`MANIFEST_UNKNOWN`,
 * `NAME_UNKNOWN`, ...) are quoted when well-formed; free-text messages never are.
 */
export async function statusError(opened: OpenResponse): Promise<SourceError> {
  const { response, what } = opened;
  const status = response.status;
  let codes = '';
  try {
    const body = await readBody(opened, 16 * 1024);
    const parsed = JSON.parse(body.toString('utf8')) as { errors?: Array<{ code?: unknown }> };
    const list = Array.isArray(parsed.errors)
      ? parsed.errors.map((e) => e?.code).filter((c): c is string => typeof c === 'string' && /^[A-Z_]{1,64}$/.test(c))
      : [];
    if (list.length > 0) codes = ` (${list.slice(0, 3).join(', ')})`;
  } catch {
    await discard(opened);
  }
  const message = `${what}: HTTP ${status}${codes}`;
  if (status === 401 || status === 403) return new SourceError('registry-unauthorized', message);
  if (status === 404) return new SourceError('registry-not-found', message);
  if (status === 429) return new SourceError('registry-rate-limited', message);
  if (status >= 500) return new SourceError('registry-unavailable', message);
  return new SourceError('registry-bad-response', message);
}

/** `application/vnd.oci.image.index.v1+json; charset=utf-8` → the bare type, lower-cased. */
export function bareMediaType(header: string | null): string | undefined {
  if (header === null) return undefined;
  const type = header.split(';')[0].trim().toLowerCase();
  return type.length > 0 ? type : undefined;
}

/** The `rel="next"` target of a Link header, if any. */
export function nextLink(header: string | null): string | undefined {
  if (header === null || header.length > 4096) return undefined;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (m && /(?:^|;)\s*rel\s*=\s*"?next"?\s*(?:;|$)/i.test(m[2])) return m[1];
  }
  return undefined;
}
