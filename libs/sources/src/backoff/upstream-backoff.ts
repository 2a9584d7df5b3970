/**
 * One back-off per upstream host, shared by every caller of that host (polls, verify jobs, all
 * worker replicas when the store is shared): "do not call host H before time T". The policy is
 * pure (which wait follows from which answer); the store is injected, so this library needs no
 * Redis: the worker gives it a Redis-backed store, a single process may use the in-memory one.
 */

/** What an upstream answered, as far as back-off cares. */
export interface UpstreamAnswer {
  /** HTTP status, or `timeout` / `network` when no answer came. */
  status: number | 'timeout' | 'network';
  /** The raw Retry-After header (seconds or an HTTP date), if any. */
  retryAfter?: string | null;
  rateLimitRemaining?: number;
  /** Epoch seconds (GitHub's x-ratelimit-reset). */
  rateLimitReset?: number;
  /** The body says "rate limit" (GitHub's secondary-limit 403 may carry no header at all). */
  bodySaysRateLimited?: boolean;
}

export type AnswerClass =
  | { kind: 'ok' }
  /** The host asks us to slow down; wait this long before any request to it. */
  | { kind: 'rate-limited'; waitSeconds: number }
  /** 5xx, timeout, connection failure: an outage; the wait grows with consecutive failures. */
  | { kind: 'unavailable'; retryAfterSeconds?: number }
  /** Any other answer (404, 401, a plain 403): no reason to hold the host. */
  | { kind: 'other' };

export interface BackoffPolicySettings {
  /** A rate limit with neither Retry-After nor reset: GitHub advises at least a minute. */
  rateLimitDefaultSeconds: number;
  /**
   * Upper bound of any rate-limit wait. Threat: a broken or hostile answer (Retry-After: 1e9)
   * must not silence polling for days; GitHub's primary window is one hour.
   */
  rateLimitCapSeconds: number;
  /** First wait of an outage, doubled per consecutive failure up to the cap. */
  outageBaseSeconds: number;
  /** Kept short: an outage hold must not delay recovery by more than about one poll. */
  outageCapSeconds: number;
}

export const DEFAULT_BACKOFF_POLICY: BackoffPolicySettings = {
  rateLimitDefaultSeconds: 60,
  rateLimitCapSeconds: 3600,
  outageBaseSeconds: 5,
  outageCapSeconds: 60,
};

export class UpstreamBackoffPolicy {
  readonly settings: BackoffPolicySettings;

  constructor(settings: Partial<BackoffPolicySettings> = {}) {
    this.settings = { ...DEFAULT_BACKOFF_POLICY, ...settings };
  }

  /**
   * 429 is always a rate limit; a 403 is one when the window is spent, Retry-After is given, or
   * the body says so. A successful answer that spends the last request of the window
   * (remaining 0) holds the host until the reset too: the next call would only be refused.
   */
  classify(answer: UpstreamAnswer, nowMs: number): AnswerClass {
    const { status } = answer;
    if (status === 'timeout' || status === 'network') return { kind: 'unavailable' };
    const retryAfter = parseRetryAfter(answer.retryAfter, nowMs);
    const spent = answer.rateLimitRemaining === 0;
    if (status === 429 || (status === 403 && (spent || retryAfter !== undefined || answer.bodySaysRateLimited === true))) {
      return { kind: 'rate-limited', waitSeconds: this.rateLimitWait(retryAfter, spent ? answer.rateLimitReset : undefined, nowMs) };
    }
    if (status >= 500) return { kind: 'unavailable', ...(retryAfter !== undefined ? { retryAfterSeconds: retryAfter } : {}) };
    if (status < 400 && spent && answer.rateLimitReset !== undefined) {
      const untilReset = answer.rateLimitReset - Math.floor(nowMs / 1000);
      if (untilReset > 0) return { kind: 'rate-limited', waitSeconds: Math.min(untilReset, this.settings.rateLimitCapSeconds) };
    }
    return status < 400 ? { kind: 'ok' } : { kind: 'other' };
  }

  /** Retry-After first, then the reset of a spent window, else the default; always capped. */
  rateLimitWait(retryAfterSeconds: number | undefined, resetEpochSeconds: number | undefined, nowMs: number): number {
    const untilReset = resetEpochSeconds !== undefined ? resetEpochSeconds - Math.floor(nowMs / 1000) : undefined;
    const wait = retryAfterSeconds ?? (untilReset !== undefined && untilReset > 0 ? untilReset : this.settings.rateLimitDefaultSeconds);
    return Math.min(Math.max(wait, 1), this.settings.rateLimitCapSeconds);
  }

  /** The wait after the n-th consecutive outage answer (n >= 1), or the host's own Retry-After. */
  outageWait(consecutiveFailures: number, retryAfterSeconds?: number): number {
    const { outageBaseSeconds: base, outageCapSeconds: cap } = this.settings;
    const grown = Math.min(cap, base * 2 ** Math.max(0, Math.min(consecutiveFailures, 30) - 1));
    return retryAfterSeconds !== undefined ? Math.min(Math.max(grown, retryAfterSeconds), this.settings.rateLimitCapSeconds) : grown;
  }
}

/** Retry-After in seconds: delta-seconds or an HTTP date; anything else is no header. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const at = Date.parse(trimmed);
  if (!Number.isFinite(at) || !/[a-z]/i.test(trimmed)) return undefined;
  return Math.max(0, Math.ceil((at - nowMs) / 1000));
}

export type HoldReason = 'rate-limited' | 'unavailable';

export interface HostHold {
  /** Epoch milliseconds before which the host must not be called. */
  untilMs: number;
  reason: HoldReason;
}

export interface HostHoldState {
  /** The hold in force, or the end of another caller's probe (see admit). */
  hold?: HostHold;
  /** Consecutive outage answers seen (shared), reset by an answer that is neither. */
  failures: number;
  /** Something is on record (a hold, ended or not, or failures): a healthy answer must clear it. */
  recorded: boolean;
  /** `hold` is another caller's probe in flight, not a hold the host asked for. */
  probing?: boolean;
}

/** Where holds live. Shared (Redis) between replicas in the worker; in memory for one process. */
export interface HostHoldStore {
  /** What is on record, without claiming anything (a job's check before it starts). */
  peek(host: string, nowMs: number): Promise<HostHoldState>;
  /**
   * Atomically: the hold in force; else, when a hold has ended but no answer has cleared it yet,
   * the right to send ONE probe: the first caller gets it (no hold returned) and everyone else is
   * held until `probeUntilMs` or until the probe's answer clears or renews the hold. Without
   * this, every poll and parked job sent its request the moment a hold ended.
   */
  admit(host: string, nowMs: number, probeUntilMs: number): Promise<HostHoldState>;
  /** Sets the hold unless a later one is already in force (the later one wins); ends a probe. */
  hold(host: string, hold: HostHold): Promise<void>;
  /** Counts one more consecutive outage answer; returns the new count. */
  countFailure(host: string): Promise<number>;
  /** The host answered normally: forget holds, probes and failures. */
  clear(host: string): Promise<void>;
}

interface MemoryState {
  hold?: HostHold;
  probeUntilMs?: number;
  failures: number;
}

export class InMemoryHostHoldStore implements HostHoldStore {
  private readonly states = new Map<string, MemoryState>();

  async peek(host: string, nowMs: number): Promise<HostHoldState> {
    const state = this.states.get(host);
    if (!state) return { failures: 0, recorded: false };
    if (state.hold && state.hold.untilMs > nowMs) return { hold: state.hold, failures: state.failures, recorded: true };
    if (state.hold && state.probeUntilMs !== undefined && state.probeUntilMs > nowMs) {
      return { hold: { untilMs: state.probeUntilMs, reason: state.hold.reason }, failures: state.failures, recorded: true, probing: true };
    }
    return { failures: state.failures, recorded: true };
  }

  async admit(host: string, nowMs: number, probeUntilMs: number): Promise<HostHoldState> {
    const seen = await this.peek(host, nowMs);
    const state = this.states.get(host);
    if (state?.hold && !seen.hold) state.probeUntilMs = probeUntilMs;
    return seen;
  }

  async hold(host: string, hold: HostHold): Promise<void> {
    const state = this.states.get(host) ?? { failures: 0 };
    if (!state.hold || state.hold.untilMs < hold.untilMs) state.hold = hold;
    state.probeUntilMs = undefined;
    this.states.set(host, state);
  }

  async countFailure(host: string): Promise<number> {
    const state = this.states.get(host) ?? { failures: 0 };
    state.failures += 1;
    this.states.set(host, state);
    return state.failures;
  }

  async clear(host: string): Promise<void> {
    this.states.delete(host);
  }
}

export interface UpstreamBackoffOptions {
  now?: () => number;
  /** Told of every hold set by this process (metrics, log). */
  onHold?: (host: string, hold: HostHold, waitSeconds: number) => void;
  /** A store that cannot be read or written (Redis down): the request goes ahead. */
  onStoreError?: (err: unknown) => void;
  /** Longest a probe may take before another caller may probe (default 30 s, a request's timeout). */
  probeMs?: number;
  /** How long callers that found a probe in flight are told to wait before looking again (default 2 s). */
  probeWaitMs?: number;
}

/** The policy and the store together: what a client asks before and tells after a request. */
export class UpstreamBackoff {
  /** Hosts whose last look found something on record: only those need a write on success. */
  private readonly recorded = new Set<string>();

  constructor(
    private readonly store: HostHoldStore,
    readonly policy: UpstreamBackoffPolicy = new UpstreamBackoffPolicy(),
    private readonly options: UpstreamBackoffOptions = {},
  ) {}

  now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /**
   * Before a request: the hold in force, if any; none means "send". A store that cannot be read
   * holds nothing: back-off is politeness, and a check not attempted would only be an error.
   */
  async admit(host: string): Promise<HostHold | undefined> {
    const now = this.now();
    return this.look(host, () => this.store.admit(host, now, now + (this.options.probeMs ?? 30_000)), now);
  }

  /** The hold in force, without claiming a probe: for callers that decide whether to start at all. */
  async heldUntil(host: string): Promise<HostHold | undefined> {
    const now = this.now();
    return this.look(host, () => this.store.peek(host, now), now);
  }

  private async look(host: string, read: () => Promise<HostHoldState>, now: number): Promise<HostHold | undefined> {
    try {
      const state = await read();
      if (state.recorded) this.recorded.add(host);
      if (!state.hold) return undefined;
      // Held by another caller's probe: look again soon, its answer may free the host at once.
      if (state.probing) return { ...state.hold, untilMs: Math.min(state.hold.untilMs, now + (this.options.probeWaitMs ?? 2000)) };
      return state.hold;
    } catch (err) {
      this.options.onStoreError?.(err);
      return undefined;
    }
  }

  /** Records an answer of the host; returns the hold it caused, if any. */
  async observe(host: string, answer: UpstreamAnswer): Promise<HostHold | undefined> {
    const now = this.now();
    const kind = this.policy.classify(answer, now);
    try {
      if (kind.kind === 'ok' || kind.kind === 'other') {
        // The host answers normally. Only a host with something on record needs a write: no
        // Redis round trip per healthy request.
        if (this.recorded.has(host)) {
          await this.store.clear(host);
          this.recorded.delete(host);
        }
        return undefined;
      }
      let waitSeconds: number;
      if (kind.kind === 'rate-limited') waitSeconds = kind.waitSeconds;
      else waitSeconds = this.policy.outageWait(await this.store.countFailure(host), kind.retryAfterSeconds);
      const hold: HostHold = { untilMs: now + waitSeconds * 1000, reason: kind.kind };
      await this.store.hold(host, hold);
      this.recorded.add(host);
      this.options.onHold?.(host, hold, waitSeconds);
      return hold;
    } catch (err) {
      this.options.onStoreError?.(err);
      return undefined;
    }
  }
}
