/** Postgres error classes and Prisma codes that mean "the database cannot be reached now". */
const UNAVAILABLE_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08006']);
const UNAVAILABLE_TEXT = /ECONNREFUSED|ECONNRESET|Connection terminated|Can't reach database server|connection timeout|DatabaseNotReachable|Timed out fetching a new connection/i;

/**
 * True when an error from Prisma (or the pg driver under it, at any depth of `cause`) says the
 * database is down or unreachable: callers answer 503 "unavailable", not 500 "internal error".
 */
export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== 'object' || depth > 5) return false;
  const e = err as { name?: unknown; code?: unknown; errorCode?: unknown; message?: unknown; cause?: unknown; kind?: unknown };
  if (e.name === 'PrismaClientInitializationError') return true;
  for (const code of [e.code, e.errorCode]) if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  if (e.kind === 'DatabaseNotReachable' || e.kind === 'ConnectionClosed') return true;
  if (typeof e.message === 'string' && UNAVAILABLE_TEXT.test(e.message)) return true;
  return isDatabaseUnavailable(e.cause, depth + 1);
}
