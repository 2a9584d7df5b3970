import { type RekorLogEntry, type TlogEntryFinder, type TlogSearchResult, VerificationError } from '@provwatch/verification';
import { currentAbortSignal } from '../abort-scope';

export const PUBLIC_GOOD_REKOR_URL = 'https://rekor.sigstore.dev';

export interface RekorClientOptions {
  baseUrl?: string;
  timeoutMs?: number;
  /** How many entries one search may return before we stop fetching (a popular digest has many). */
  maxEntries?: number;
  fetch?: typeof fetch;
}

function requestSignal(timeoutMs: number): AbortSignal {
  const outer = currentAbortSignal();
  return outer ? AbortSignal.any([AbortSignal.timeout(timeoutMs), outer]) : AbortSignal.timeout(timeoutMs);
}

const MAX_RESPONSE_BYTES = 4 * 1024 * 1024;

/**
 * Rekor v1 search and entry retrieval, for evidence that carries no log entry of its own
 * (cosign `.pem`/`.sig`, slsa-github-generator <= v2.0.0 envelopes). Answers are verified by the
 * caller (SET, inclusion proof, body); here they are only size- and time-bounded. Any failure to
 * ask the log is `tlog-unavailable`: an outage must never read as "no entry".
 */
export class RekorClient implements TlogEntryFinder {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly maxEntries: number;
  private readonly fetchImpl: typeof fetch;

  constructor(options: RekorClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? PUBLIC_GOOD_REKOR_URL).replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.maxEntries = options.maxEntries ?? 64;
    this.fetchImpl = options.fetch ?? fetch;
  }

  async findByArtifactDigest(sha256Hex: string): Promise<TlogSearchResult> {
    if (!/^[0-9a-f]{64}$/.test(sha256Hex)) throw new VerificationError('input-unreadable', 'artifact digest must be 64 lowercase hex characters');
    const uuids = await this.request('POST', '/api/v1/index/retrieve', { hash: `sha256:${sha256Hex}` });
    if (!Array.isArray(uuids) || uuids.some((u) => typeof u !== 'string' || !/^[0-9a-f]{64,80}$/.test(u))) {
      throw new VerificationError('tlog-unavailable', 'Rekor index search returned an unexpected document');
    }
    const entries: RekorLogEntry[] = [];
    for (const uuid of (uuids as string[]).slice(0, this.maxEntries)) {
      entries.push(await this.getEntry(uuid));
    }
    return { entries, truncated: uuids.length > this.maxEntries };
  }

  async getEntry(uuid: string): Promise<RekorLogEntry> {
    const doc = await this.request('GET', `/api/v1/log/entries/${encodeURIComponent(uuid)}`);
    // Rekor answers one object keyed by the entry id; an array would pass Object.values unnoticed.
    const values = doc && typeof doc === 'object' && !Array.isArray(doc) ? Object.values(doc as Record<string, unknown>) : [];
    if (values.length !== 1 || typeof values[0] !== 'object' || values[0] === null) {
      throw new VerificationError('tlog-unavailable', `Rekor entry ${uuid} has an unexpected shape`);
    }
    return values[0] as RekorLogEntry;
  }

  private async request(method: 'GET' | 'POST', path: string, body?: unknown): Promise<unknown> {
    const url = `${this.baseUrl}${path}`;
    let response: Response;
    try {
      response = await this.fetchImpl(url, {
        method,
        headers: { accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
        // A log never needs to send us elsewhere; a redirect is refused, not followed.
        redirect: 'error',
        // The job's deadline (withAbortSignal) stops a search in flight as well.
        signal: requestSignal(this.timeoutMs),
      });
    } catch (err) {
      throw new VerificationError('tlog-unavailable', `cannot reach Rekor at ${this.baseUrl}: ${describeFetchError(err)}`);
    }
    if (!response.ok) {
      await response.body?.cancel();
      throw new VerificationError('tlog-unavailable', `Rekor answered ${response.status} for ${method} ${path}`);
    }
    const text = await readBounded(response, MAX_RESPONSE_BYTES);
    try {
      return JSON.parse(text);
    } catch {
      throw new VerificationError('tlog-unavailable', `Rekor answered ${method} ${path} with invalid JSON`);
    }
  }
}

async function readBounded(response: Response, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of response.body ?? []) {
      size += chunk.length;
      if (size > limit) throw new VerificationError('tlog-unavailable', `Rekor response larger than ${limit} bytes`);
      chunks.push(Buffer.from(chunk));
    }
  } catch (err) {
    if (err instanceof VerificationError) throw err;
    throw new VerificationError('tlog-unavailable', `reading the Rekor response failed: ${describeFetchError(err)}`);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function describeFetchError(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (err as Error)?.message ?? String(err);
}
