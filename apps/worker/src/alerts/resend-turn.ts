import Redis, { type RedisOptions } from 'ioredis';

/**
 * Whose turn it is to re-send the active alerts. Every worker replica runs the resend loop (any of
 * them may be the one left running), but one re-send per interval is enough: the first replica
 * whose timer fires takes the turn in Redis for a little less than the interval, the others skip.
 * When Redis cannot answer, the replica sends anyway: a duplicate alert costs Alertmanager nothing,
 * a silent one could cost a page.
 */
export class ResendTurn {
  private readonly redis: Redis;

  constructor(
    connection: RedisOptions,
    private readonly key: string,
    private readonly holder: string,
    private readonly log?: (message: string) => void,
  ) {
    this.redis = new Redis({ ...connection, maxRetriesPerRequest: 1, commandTimeout: 2_000 });
    this.redis.on('error', () => undefined);
  }

  /** True when this replica should send now; the turn lasts `turnMs`. */
  async take(turnMs: number): Promise<boolean> {
    try {
      return (await this.redis.set(this.key, this.holder, 'PX', Math.max(1, Math.floor(turnMs)), 'NX')) === 'OK';
    } catch (err) {
      this.log?.(`alert resend turn: ${(err as Error).message}; sending anyway`);
      return true;
    }
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
