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

/**
 * Why connecting to `databaseUrl` failed, in one line an operator acts on: the host:port that
 * refused, or the database that does not exist. Never the URL itself (it may carry a password).
 */
export function describeDatabaseProblem(err: unknown, databaseUrl: string): string {
  let where = 'postgres';
  let database = '';
  try {
    const u = new URL(databaseUrl);
    where = `postgres ${u.hostname || '127.0.0.1'}:${u.port || 5432}`;
    database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  } catch {
    // An unparsable URL is refused by the configuration check before this is reached.
  }
  // pg reports a host with several addresses (localhost: ::1 and 127.0.0.1) as an AggregateError with no message.
  const first = err instanceof AggregateError && err.errors.length > 0 ? err.errors[0] : err;
  const e = (first ?? {}) as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' ? (e.message.split('\n').find(Boolean) ?? '') : String(first);
  if (code === '3D000') return `${where}: database "${database}" does not exist (create it, or point DATABASE_URL at an existing one)`;
  if (code === '28P01' || code === '28000') return `${where}: authentication failed (${code}): ${message}`;
  if (/^E[A-Z]+$/.test(code)) return `${where} unreachable (${code})`;
  if (/timeout/i.test(message)) return `${where} unreachable (${message})`;
  return `${where}: ${[code, message].filter(Boolean).join(': ') || 'unknown error'}`;
}
