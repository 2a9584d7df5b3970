import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createServer, type Server, Socket } from 'node:net';

/** The built service (`node dist/apps/api/src/main.js`) as a child process, its output captured. */
export class ServiceProcess {
  readonly lines: string[] = [];
  private child: ChildProcess;
  private exited: Promise<number | null>;

  constructor(env: Record<string, string>) {
    const main = resolve(__dirname, '../../apps/api/src/main.js');
    this.child = spawn(process.execPath, [main], { env: { PATH: process.env.PATH ?? '', NO_COLOR: '1', TZ: 'UTC', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const parts = (rest + chunk).split('\n');
        rest = parts.pop() ?? '';
        this.lines.push(...parts);
      });
    }
    this.exited = new Promise((r) => this.child.once('exit', (code) => r(code)));
  }

  get exitCode(): number | null {
    return this.child.exitCode;
  }

  /** Output lines that look like a stack frame (`    at fn (file:1:2)`). */
  stackLines(): string[] {
    return this.lines.filter((l) => /^\s+at\s/.test(l));
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/**
 * A TCP forwarder on a port of the test's choosing to a real server: "Postgres comes up" is the
 * forwarder starting to listen on a port where nothing answered before, without a cluster of
 * the test's own.
 */
export class TcpForwarder {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(readonly port: number, private readonly target: { host: string; port: number }) {}

  listen(): Promise<void> {
    this.server = createServer((inbound) => {
      const outbound = new Socket();
      this.sockets.add(inbound).add(outbound);
      const drop = () => (inbound.destroy(), outbound.destroy(), this.sockets.delete(inbound), this.sockets.delete(outbound));
      inbound.on('error', drop).on('close', drop);
      outbound.on('error', drop).on('close', drop);
      outbound.connect(this.target.port, this.target.host, () => inbound.pipe(outbound).pipe(inbound));
    });
    return new Promise((r) => this.server!.listen(this.port, '127.0.0.1', () => r()));
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => (this.server ? this.server.close(() => r(undefined)) : r(undefined)));
  }
}
