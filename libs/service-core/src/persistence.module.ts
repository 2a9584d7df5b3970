import { Global, Inject, Logger, Module, type OnModuleDestroy } from '@nestjs/common';
import { resolve } from 'node:path';
import type { ServiceConfig } from '@provwatch/config';
import { type PrismaClient, applyMigrations, createPrismaClient } from '@provwatch/persistence';
import { SERVICE_CONFIG } from './configuration.module';

export const PRISMA = Symbol('PRISMA');
export const SCHEMA_GATE = Symbol('SCHEMA_GATE');
export const MIGRATIONS_DIR = resolve(__dirname, '../../../../prisma/migrations');

/**
 * Applies pending migrations before anything writes. The first attempt is awaited by the worker
 * (it cannot work without the schema, and fails its start); the API keeps retrying in the
 * background instead, so it starts, answers /healthz and reports not-ready until Postgres is back.
 */
export class SchemaGate {
  readonly firstAttempt: Promise<void>;
  private applied = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly databaseUrl: string, private readonly logger = new Logger('persistence')) {
    this.firstAttempt = this.attempt();
    this.firstAttempt.catch(() => this.retry(1000));
  }

  get ready(): boolean {
    return this.applied;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private async attempt(): Promise<void> {
    const result = await applyMigrations(this.databaseUrl, MIGRATIONS_DIR);
    if (result.applied.length > 0) this.logger.log(`applied migrations: ${result.applied.join(', ')}`);
    this.applied = true;
  }

  private retry(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.attempt().catch((err: Error) => {
        this.logger.warn(`migrations not applied yet: ${err.message}`);
        this.retry(Math.min(delayMs * 2, 30_000));
      });
    }, delayMs);
    this.timer.unref();
  }
}

/** One Prisma client for the process (it connects lazily), and the schema gate. */
@Global()
@Module({
  providers: [
    { provide: SCHEMA_GATE, inject: [SERVICE_CONFIG], useFactory: (config: ServiceConfig) => new SchemaGate(config.databaseUrl) },
    { provide: PRISMA, inject: [SERVICE_CONFIG], useFactory: (config: ServiceConfig): PrismaClient => createPrismaClient(config.databaseUrl) },
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
