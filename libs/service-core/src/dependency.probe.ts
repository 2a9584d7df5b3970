import { Socket } from 'node:net';

/** A dependency the service cannot work without; readiness and the worker's start ask each one. */
export interface DependencyProbe {
  readonly name: string;
  check(timeoutMs: number): Promise<void>;
}

export const DEPENDENCY_PROBES = Symbol('DEPENDENCY_PROBES');

/**
 * Speaks just enough of the protocol to know the server answers: a TCP connect plus one
 * request/response exchange, so a half-dead server (accepting but not answering) is not ready.
 */
function exchange(host: string, port: number, request: Buffer, isAnswer: (data: Buffer) => boolean, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    const done = (err?: Error) => {
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    socket.setTimeout(timeoutMs, () => done(new Error(`no answer within ${timeoutMs} ms`)));
    // ECONNREFUSED, ENOTFOUND...: the code says it in one word, the message repeats host:port.
    socket.once('error', (err: NodeJS.ErrnoException) => done(new Error(err.code ?? err.message)));
    socket.once('data', (data) => (isAnswer(data) ? done() : done(new Error('unexpected answer'))));
    socket.connect(port, host, () => socket.write(request));
  });
}

/** Redis: PING answers +PONG (or -NOAUTH, which still proves a live server that needs a password we have not sent). */
export class RedisProbe implements DependencyProbe {
  readonly name = 'redis';
  constructor(private readonly url: string) {}

  /** host:port, never the URL (it may carry a password). */
  get address(): string {
    const u = new URL(this.url);
    return `${u.hostname}:${u.port || 6379}`;
  }

  check(timeoutMs: number): Promise<void> {
    const u = new URL(this.url);
    return exchange(u.hostname, Number(u.port || 6379), Buffer.from('PING\r\n'), (d) => d[0] === 0x2b || d[0] === 0x2d, timeoutMs);
  }
}

/** PostgreSQL: an SSLRequest is answered with a single 'S' or 'N' by any live server. */
export class PostgresProbe implements DependencyProbe {
  readonly name = 'postgres';
  constructor(private readonly url: string) {}

  /** host:port, never the URL (it may carry a password). */
  get address(): string {
    const u = new URL(this.url);
    return `${u.hostname || '127.0.0.1'}:${u.port || 5432}`;
  }

  check(timeoutMs: number): Promise<void> {
    const u = new URL(this.url);
    const sslRequest = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
    return exchange(u.hostname || '127.0.0.1', Number(u.port || 5432), sslRequest, (d) => d.length === 1 && (d[0] === 0x53 || d[0] === 0x4e), timeoutMs);
  }
}
