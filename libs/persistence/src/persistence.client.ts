import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/client';

/**
 * The one place that talks to Postgres: a Prisma client over the pg driver adapter (no query
 * engine binary needed). Repositories take it; nobody else writes SQL. Prisma's own warnings go
 * to `onWarning` (the service's structured log) instead of its console output; errors reach the
 * callers, which log them with their context.
 */
export function createPrismaClient(databaseUrl: string, options: { onWarning?: (message: string) => void } = {}): PrismaClient {
  const adapter = new PrismaPg({ connectionString: databaseUrl });
  if (!options.onWarning) return new PrismaClient({ adapter });
  const client = new PrismaClient({ adapter, log: [{ emit: 'event', level: 'warn' }] });
  client.$on('warn', (event: { message: string }) => options.onWarning!(event.message));
  return client as unknown as PrismaClient;
}

export type { PrismaClient };
