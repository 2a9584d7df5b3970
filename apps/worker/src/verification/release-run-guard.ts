import { releaseRunLockKey } from '@provwatch/jobs';

/**
 * At most one verification of a release runs at a time, across every worker replica. Different
 * job ids (content, `retry:<run>`, `reverify:<bucket>`, `-grace`, manual) can name the same
 * release, and BullMQ only collapses equal ids. The marker is a Redis key held while the job
 * runs, owned by its job id (a stalled job picked up again still owns it), and expires, so a
 * crashed worker leaves no release locked for longer than `ttlMs`.
 */
/** The one Redis command the guard needs (BullMQ's own connection provides it). */
export interface EvalClient {
  eval(script: string, numKeys: number, ...args: string[]): Promise<unknown>;
}

export class ReleaseRunGuard {
  constructor(
    private readonly redis: () => Promise<EvalClient>,
    private readonly prefix: string,
    private readonly ttlMs = 15 * 60_000,
  ) {}

  /** True when this job now holds the release's marker (or held it already). */
  async acquire(target: string, tag: string, jobId: string): Promise<boolean> {
    const client = await this.redis();
    const key = releaseRunLockKey(this.prefix, target, tag);
    // SET NX, or refresh when the holder is this very job: one round trip, no race between replicas.
    const result = await client.eval(
      `if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
       if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
       return 0`,
      1,
      key,
      jobId,
      String(this.ttlMs),
    );
    return result === 1;
  }

  /** Releases the marker if this job still holds it (never another job's). */
  async release(target: string, tag: string, jobId: string): Promise<void> {
    const client = await this.redis();
    await client.eval(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`, 1, releaseRunLockKey(this.prefix, target, tag), jobId);
  }
}
