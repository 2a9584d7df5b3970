import { Global, Inject, Logger, Module, type OnModuleDestroy } from '@nestjs/common';
import { resolve } from 'node:path';
import type { ServiceConfig } from '@provwatch/config';
import { type PrismaClient, applyMigrations, createPrismaClient, describeDatabaseProblem } from '@provwatch/persistence';
import { SERVICE_CONFIG } from './configuration.module';

export const PRISMA = Symbol('PRISMA');
export const SCHEMA_GATE = Symbol('SCHEMA_GATE');
export const MIGRATIONS_DIR = resolve(__dirname, '../../../../prisma/migrations');

/**
 * Applies pending migrations before anything writes. Nothing waits for it to succeed: the process
 * starts, answers /healthz and reports not-ready (with the reason, one line) until Postgres is
 * there, while this keeps retrying in the background with capped back-off. The worker starts
 * only once `ready` (see WorkerStarter) and asks for an attempt at once with `ensure()`.
 */
export class SchemaGate {
  readonly firstAttempt: Promise<void>;
  private applied = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private problem: string | undefined;
  private loggedProblem: string | undefined;

  constructor(private readonly databaseUrl: string, private readonly logger = new Logger('persistence')) {
    this.firstAttempt = this.ensure();
    this.firstAttempt.catch(() => this.retry(1000));
  }

  get ready(): boolean {
    return this.applied;
  }

  /** Why the schema is not ready, in one line (`postgres 10.0.0.5:5432 unreachable (ECONNREFUSED)`). */
  get reason(): string | undefined {
    return this.applied ? undefined : (this.problem ?? 'database migrations not applied yet');
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** One attempt now (single flight; resolves at once when applied). Rejects with the one-line reason. */
  ensure(): Promise<void> {
    if (this.applied) return Promise.resolve();
    this.inFlight ??= this.attempt().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async attempt(): Promise<void> {
    try {
      const result = await applyMigrations(this.databaseUrl, MIGRATIONS_DIR);
      if (result.applied.length > 0) this.logger.log(`applied migrations: ${result.applied.join(', ')}`);
      this.applied = true;
      this.problem = undefined;
      if (this.loggedProblem) this.logger.log('database reachable again; schema up to date');
    } catch (err) {
      // An expected fault at start (Postgres not up yet, database missing): one line, no stack.
      this.problem = describeDatabaseProblem(err, this.databaseUrl);
      throw new Error(this.problem);
    }
  }

  private retry(delayMs: number): void {
    if (this.stopped || this.applied) return;
    this.timer = setTimeout(() => {
      this.ensure().then(
        () => undefined,
        () => {
          // Logged when the reason changes only: the worker's starter logs each of its own retries.
          if (this.problem !== this.loggedProblem) this.logger.warn(`migrations not applied yet: ${this.problem}; retrying`);
          this.loggedProblem = this.problem;
          this.retry(Math.min(delayMs * 2, 30_000));
        },
      );
    }, delayMs);
    this.timer.unref();
  }
}

/** One Prisma client for the process (it connects lazily), and the schema gate. */
@Global()
@Module({
  providers: [
    { provide: SCHEMA_GATE, inject: [SERVICE_CONFIG], useFactory: (config: ServiceConfig) => new SchemaGate(config.databaseUrl) },
    { provide: PRISMA, inject: [SERVICE_CONFIG], useFactory: (config: ServiceConfig): PrismaClient => {
        const logger = new Logger('prisma');
        return createPrismaClient(config.databaseUrl, { onWarning: (message) => logger.warn(message) });
      },
    },
  ],
  exports: [PRISMA, SCHEMA_GATE],
})
export class PersistenceModule implements OnModuleDestroy {
  constructor(
    @Inject(PRISMA) private readonly prisma: PrismaClient,
    @Inject(SCHEMA_GATE) private readonly gate: SchemaGate,
  ) {}

  async onModuleDestroy(): Promise<void> {
    this.gate.stop();
    await this.prisma.$disconnect();
  }
}
