import type { HostHold, HostHoldState, HostHoldStore } from '@provwatch/sources';

/** The few commands used, as BullMQ's Redis client offers them. */
export interface HoldRedis {
  hmget(key: string, ...fields: string[]): Promise<(string | null)[]>;
  del(...keys: string[]): Promise<number>;
  defineCommand(name: string, definition: { numberOfKeys: number; lua: string }): void;
  runCommand(name: string, args: unknown[]): Promise<unknown>;
}

/** How long a hold's key outlives the hold: then the host counts as healthy again. */
const KEEP_AFTER_HOLD_MS = 10 * 60_000;

// Atomic "the later hold wins", so replicas racing on one host never shorten each other's wait.
// Any answer that renews the hold also ends the probe that asked.
const HOLD_LUA = `
local current = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
local wanted = tonumber(ARGV[1])
redis.call('HDEL', KEYS[1], 'probe')
if wanted > current then
  redis.call('HSET', KEYS[1], 'until', ARGV[1], 'reason', ARGV[2])
  redis.call('PEXPIREAT', KEYS[1], wanted + tonumber(ARGV[3]))
end
return 1`;

const COUNT_LUA = `
local n = redis.call('HINCRBY', KEYS[1], 'failures', 1)
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1])) end
return n`;

// The hold in force, or one probe after it ended: the first caller claims it, the rest wait.
const ADMIT_LUA = `
local v = redis.call('HMGET', KEYS[1], 'until', 'reason', 'failures', 'probe')
if not v[1] and not v[3] then return {} end
local now = tonumber(ARGV[1])
if tonumber(v[1] or '0') > now then return {'hold', v[1], v[2] or '', v[3] or '0'} end
if v[1] then
  if tonumber(v[4] or '0') > now then return {'probe', v[4], v[2] or '', v[3] or '0'} end
  redis.call('HSET', KEYS[1], 'probe', ARGV[2])
end
return {'free', '', v[2] or '', v[3] or '0'}`;

const defined = new WeakSet<object>();

/**
 * Holds in Redis under the queue prefix (`<prefix>:upstream-backoff:<host>`, a hash of `until`
 * epoch ms, `reason`, `failures`, `probe`), so every poll, job and replica on that Redis sees one
 * hold. Host names only: no path, query or credential ever goes into a key.
 */
export class RedisHostHoldStore implements HostHoldStore {
  constructor(
    private readonly client: () => Promise<HoldRedis>,
    private readonly prefix: string,
  ) {}

  key(host: string): string {
    return `${this.prefix}:upstream-backoff:${host.toLowerCase()}`;
  }

  async peek(host: string, nowMs: number): Promise<HostHoldState> {
    const [until, reason, failures, probe] = await (await this.client()).hmget(this.key(host), 'until', 'reason', 'failures', 'probe');
    return toState(until && Number(until) > nowMs ? 'hold' : until && Number(probe) > nowMs ? 'probe' : until || failures ? 'free' : undefined, Number(until && Number(until) > nowMs ? until : probe), reason, failures);
  }

  async admit(host: string, nowMs: number, probeUntilMs: number): Promise<HostHoldState> {
    const answer = (await (await this.scripts()).runCommand('provwatchBackoffAdmit', [this.key(host), String(nowMs), String(Math.ceil(probeUntilMs))])) as string[];
    return toState(answer[0] as 'hold' | 'probe' | 'free' | undefined, Number(answer[1]), answer[2], answer[3]);
  }

  async hold(host: string, hold: HostHold): Promise<void> {
    await (await this.scripts()).runCommand('provwatchBackoffHold', [this.key(host), String(Math.ceil(hold.untilMs)), hold.reason, String(KEEP_AFTER_HOLD_MS)]);
  }

  async countFailure(host: string): Promise<number> {
    return Number(await (await this.scripts()).runCommand('provwatchBackoffCount', [this.key(host), String(KEEP_AFTER_HOLD_MS)]));
  }

  async clear(host: string): Promise<void> {
    await (await this.client()).del(this.key(host));
  }

  private async scripts(): Promise<HoldRedis> {
    const client = await this.client();
    if (!defined.has(client)) {
      client.defineCommand('provwatchBackoffHold', { numberOfKeys: 1, lua: HOLD_LUA });
      client.defineCommand('provwatchBackoffCount', { numberOfKeys: 1, lua: COUNT_LUA });
      client.defineCommand('provwatchBackoffAdmit', { numberOfKeys: 1, lua: ADMIT_LUA });
      defined.add(client);
    }
    return client;
  }
}

function toState(kind: 'hold' | 'probe' | 'free' | undefined, untilMs: number, reason: string | null | undefined, failures: string | null | undefined): HostHoldState {
  const count = Number(failures) || 0;
  if (kind === undefined) return { failures: count, recorded: false };
  if (kind === 'free' || !Number.isFinite(untilMs)) return { failures: count, recorded: true };
  return { hold: { untilMs, reason: reason === 'unavailable' ? 'unavailable' : 'rate-limited' }, failures: count, recorded: true, ...(kind === 'probe' ? { probing: true } : {}) };
}
