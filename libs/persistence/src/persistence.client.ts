import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/client';

/**
 * How long an idle pooled connection is kept. pg's default (10 s) is shorter than a Prometheus
 * scrape interval: every scrape, and every request after a quiet spell, waited for a new backend
 * (11-15 ms here, the backend's fork included) before its query could start.
 */
const IDLE_CONNECTION_MS = 5 * 60_000;

/**
 * The one place that talks to Postgres: a Prisma client over the pg driver adapter (no query
 * engine binary needed). Repositories take it; nobody else writes SQL. Prisma's own warnings go
 * to `onWarning` (the service's structured log) instead of its console output; errors reach the
 * callers, which log them with their context.
 */
export function createPrismaClient(databaseUrl: string, options: { onWarning?: (message: string) => void; maxConnections?: number } = {}): PrismaClient {
  const adapter = new PrismaPg({ connectionString: databaseUrl, idleTimeoutMillis: IDLE_CONNECTION_MS, ...(options.maxConnections ? { max: options.maxConnections } : {}) });
  if (!options.onWarning) return new PrismaClient({ adapter });
  const client = new PrismaClient({ adapter, log: [{ emit: 'event', level: 'warn' }] });
  client.$on('warn', (event: { message: string }) => options.onWarning!(event.message));
  return client as unknown as PrismaClient;
}

export type { PrismaClient };
