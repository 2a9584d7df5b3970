/**
 * Stable codes for failures at the edge (registries, GitHub, Rekor). Alerts, metrics and job
 * retry decisions key on these, never on message text.
 */
export type SourceErrorCode =
  /** 401/403, or a 401 again right after a fresh token: credentials are wrong or missing. */
  | 'registry-unauthorized'
  /** The registry says the repository, tag, manifest or blob does not exist: evidence missing. */
  | 'registry-not-found'
  /** Bytes do not hash to the digest they were requested by (or announced with). */
  | 'registry-digest-mismatch'
  /** A body, or its announced length, is larger than the configured limit. */
  | 'registry-too-large'
  /** No answer, or no progress on the body, within the configured time. */
  | 'registry-timeout'
  /** Malformed or unexpected answer: bad JSON, wrong media type, unknown status. */
  | 'registry-bad-response'
  /** A redirect that may not be followed (too many, plain http to a secure host, odd scheme). */
  | 'registry-redirect-refused'
  /** 429: the registry asks us to slow down. */
  | 'registry-rate-limited'
  /** 5xx: the registry is failing. */
  | 'registry-unavailable'
  /** An image reference or digest given by the caller (or the watchlist) is malformed. */
  | 'invalid-reference'
  /** Connection refused, reset, DNS or TLS failure. */
  | 'network-error'
  /** GitHub: primary or secondary rate limit; retry after `retryAfterSeconds`. */
  | 'github-rate-limited'
  /** GitHub: repository, release or asset does not exist (or the token may not see it). */
  | 'github-not-found'
  /** GitHub: 401/403 that is not a rate limit: the token is wrong or lacks scope. */
  | 'github-unauthorized'
  /** GitHub: 5xx or no answer in time. */
  | 'github-unavailable'
  /** GitHub: an answer that is not what the API documents (bad JSON, wrong shape). */
  | 'github-bad-response'
  /**
   * This process's hashing thread died (crashed, ran out of memory, was terminated) while it held
   * part of a body: the download cannot be hashed from the middle, so it fails. The next download
   * starts a new thread.
   */
  | 'hashing-thread-failed';

const RETRYABLE: ReadonlySet<SourceErrorCode> = new Set<SourceErrorCode>([
  'registry-timeout',
  'registry-rate-limited',
  'registry-unavailable',
  'network-error',
  'github-rate-limited',
  'github-unavailable',
  'hashing-thread-failed',
]);

/**
 * Thrown by every source client. Messages name the host and path at most: never a query string
 * (pre-signed storage URLs carry credentials there), a header, a token or a response body.
 */
export class SourceError extends Error {
  readonly code: SourceErrorCode;
  /** True when the same request may succeed later (network, timeout, 429, 5xx). */
  readonly retryable: boolean;

  /** When the source said when to come back (Retry-After, rate-limit reset). */
  readonly retryAfterSeconds?: number;

  /**
   * Set when NO request was sent: the host is backed off (UpstreamBackoff) until this epoch ms.
   * Callers wait for it instead of recording yet another failure.
   */
  readonly heldUntilMs?: number;

  constructor(code: SourceErrorCode, message: string, options?: { cause?: unknown; retryable?: boolean; retryAfterSeconds?: number; heldUntilMs?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SourceError';
    this.code = code;
    this.retryable = options?.retryable ?? RETRYABLE.has(code);
    this.retryAfterSeconds = options?.retryAfterSeconds;
    this.heldUntilMs = options?.heldUntilMs;
  }

  /** "Evidence missing" as opposed to "could not look": the caller's `missing` verdict. */
  get isNotFound(): boolean {
    return this.code === 'registry-not-found' || this.code === 'github-not-found';
  }
}

export function isSourceError(value: unknown, code?: SourceErrorCode): value is SourceError {
  return value instanceof SourceError && (code === undefined || value.code === code);
}
