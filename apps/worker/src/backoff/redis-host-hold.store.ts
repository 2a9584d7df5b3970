import type { HostHold, HostHoldState, HostHoldStore } from '@provwatch/sources';

/** The few commands used, as BullMQ's Redis client offers them. */
export interface HoldRedis {
  hmget(key: string, ...fields: string[]): Promise<(string | null)[]>;
  hdel(key: string, ...fields: string[]): Promise<number>;
  defineCommand(name: string, definition: { numberOfKeys: number; lua: string }): void;
  runCommand(name: string, args: unknown[]): Promise<unknown>;
}

/** How long a hold's key outlives the hold: the outage count then starts afresh. */
const KEEP_AFTER_HOLD_MS = 10 * 60_000;

// Atomic "the later hold wins", so replicas racing on one host never shorten each other's wait.
const HOLD_LUA = `
local current = tonumber(redis.call('HGET', KEYS[1], 'until') or '0')
local wanted = tonumber(ARGV[1])
if wanted > current then
  redis.call('HSET', KEYS[1], 'until', ARGV[1], 'reason', ARGV[2])
  redis.call('PEXPIREAT', KEYS[1], wanted + tonumber(ARGV[3]))
end
return 1`;

const COUNT_LUA = `
local n = redis.call('HINCRBY', KEYS[1], 'failures', 1)
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1])) end
return n`;

const defined = new WeakSet<object>();

/**
 * Holds in Redis under the queue prefix (`<prefix>:upstream-backoff:<host>`, a hash of `until`
 * epoch ms, `reason`, `failures`), so every poll, job and replica on that Redis sees one hold.
 */
export class RedisHostHoldStore implements HostHoldStore {
  constructor(
    private readonly client: () => Promise<HoldRedis>,
    private readonly prefix: string,
  ) {}

  key(host: string): string {
    return `${this.prefix}:upstream-backoff:${host.toLowerCase()}`;
  }

  async read(host: string): Promise<HostHoldState> {
    const [until, reason, failures] = await (await this.client()).hmget(this.key(host), 'until', 'reason', 'failures');
    const untilMs = Number(until);
    const hold: HostHold | undefined = until && Number.isFinite(untilMs) ? { untilMs, reason: reason === 'unavailable' ? 'unavailable' : 'rate-limited' } : undefined;
    return { ...(hold ? { hold } : {}), failures: Number(failures) || 0 };
  }

  async hold(host: string, hold: HostHold): Promise<void> {
    await (await this.scripts()).runCommand('provwatchBackoffHold', [this.key(host), String(Math.ceil(hold.untilMs)), hold.reason, String(KEEP_AFTER_HOLD_MS)]);
  }

  async countFailure(host: string): Promise<number> {
    return Number(await (await this.scripts()).runCommand('provwatchBackoffCount', [this.key(host), String(KEEP_AFTER_HOLD_MS)]));
  }

  async clearFailures(host: string): Promise<void> {
    await (await this.client()).hdel(this.key(host), 'failures');
  }

  private async scripts(): Promise<HoldRedis> {
    const client = await this.client();
    if (!defined.has(client)) {
      client.defineCommand('provwatchBackoffHold', { numberOfKeys: 1, lua: HOLD_LUA });
      client.defineCommand('provwatchBackoffCount', { numberOfKeys: 1, lua: COUNT_LUA });
      defined.add(client);
    }
    return client;
  }
}
