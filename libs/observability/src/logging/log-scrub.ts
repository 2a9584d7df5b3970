/**
 * Removes secrets from text on its way into a log line. Threat: a connection string, a token or
 * a pre-signed storage URL quoted by an error message (pg, ioredis, undici, Nest) ending up in a
 * log pipeline that many more people read than the service's secrets. Applied to every message
 * and every string field, whoever wrote it.
 */
const RULES: Array<[RegExp, string]> = [
  // scheme://user:password@host (DATABASE_URL, REDIS_URL, ALERTMANAGER_URLS with credentials).
  [/([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]*:[^\s/@]*@/gi, '$1***@'],
  // scheme://token@host (a bare user part is often a token).
  [/([a-z][a-z0-9+.-]*:\/\/)[^\s/@:]{12,}@/gi, '$1***@'],
  // Query strings of URLs: pre-signed storage URLs carry their credential there.
  [/(https?:\/\/[^\s?#"']+)\?[^\s"']*/gi, '$1?***'],
  // Authorization values.
  [/\b(Bearer|Basic|token)\s+[A-Za-z0-9._~+/=-]{8,}/g, '$1 ***'],
  // GitHub tokens by their documented prefixes.
  [/\b(gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{20,})\b/g, '***'],
];

export function scrubSecrets(text: string): string {
  let out = text;
  for (const [pattern, replacement] of RULES) out = out.replace(pattern, replacement);
  return out;
}

/** Values that must never appear in a log line, whatever rule they would escape (exact match). */
export function scrubKnown(text: string, known: readonly string[]): string {
  let out = text;
  for (const secret of known) if (secret.length >= 6) out = out.split(secret).join('***');
  return out;
}
