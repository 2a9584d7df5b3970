import { Global, Inject, Logger, Module, type OnModuleDestroy } from '@nestjs/common';
import { resolve } from 'node:path';
import type { ServiceConfig } from '@provwatch/config';
import { type PrismaClient, applyMigrations, createPrismaClient } from '@provwatch/persistence';
import { SERVICE_CONFIG } from '../config/config.tokens';

export const PRISMA = Symbol('PRISMA');
export const MIGRATIONS_DIR = resolve(__dirname, '../../../../../prisma/migrations');

/** Applies pending migrations before anything uses the database, then shares one Prisma client. */
@Global()
@Module({
  providers: [
    {
      provide: PRISMA,
      inject: [SERVICE_CONFIG],
      useFactory: async (config: ServiceConfig): Promise<PrismaClient> => {
        const result = await applyMigrations(config.databaseUrl, MIGRATIONS_DIR);
        if (result.applied.length > 0) new Logger('persistence').log(`applied migrations: ${result.applied.join(', ')}`);
        return createPrismaClient(config.databaseUrl);
      },
    },
  ],
  exports: [PRISMA],
})
export class PersistenceModule implements OnModuleDestroy {
  constructor(@Inject(PRISMA) private readonly prisma: PrismaClient) {}

  async onModuleDestroy(): Promise<void> {
    await this.prisma.$disconnect();
  }
}
