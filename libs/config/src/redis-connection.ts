/** ioredis options for a `redis://` or `rediss://` URL, as BullMQ queues and workers need them. */
export interface RedisConnectionOptions {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db?: number;
  tls?: Record<string, never>;
  /** BullMQ workers block on Redis: they must not give up on a command. */
  maxRetriesPerRequest: null;
}

export function redisConnectionFromUrl(value: string): RedisConnectionOptions {
  const url = new URL(value);
  const db = url.pathname.replace(/^\//, '');
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    ...(db && /^\d+$/.test(db) ? { db: Number(db) } : {}),
    tls: url.protocol === 'rediss:' ? {} : undefined,
    maxRetriesPerRequest: null,
  };
}
