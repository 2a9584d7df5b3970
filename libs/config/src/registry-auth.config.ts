import { readFileSync } from 'node:fs';
import { ConfigError } from './config.error';

export interface RegistryLogin {
  username: string;
  password: string;
}

/**
 * Registry credentials from a Docker-style `config.json` (`{"auths": {"ghcr.io": {"auth":
 * base64("user:token")}}}` or `username`/`password` fields), the file `docker login` and
 * `crane auth login` write. Read once at start; the secrets never appear in errors.
 */
export function loadRegistryAuthFile(path: string): Map<string, RegistryLogin> {
  let doc: { auths?: Record<string, { auth?: unknown; username?: unknown; password?: unknown }> };
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError([{ source: path, field: '(file)', message: `cannot read registry credentials: ${(err as NodeJS.ErrnoException).code ?? 'not JSON'}` }]);
  }
  const logins = new Map<string, RegistryLogin>();
  const problems: Array<{ source: string; field: string; message: string }> = [];
  for (const [host, entry] of Object.entries(doc?.auths ?? {})) {
    const key = host.replace(/^https?:\/\//, '').replace(/\/.*$/, '').toLowerCase();
    if (typeof entry?.username === 'string' && typeof entry.password === 'string') {
      logins.set(key, { username: entry.username, password: entry.password });
      continue;
    }
    const decoded = typeof entry?.auth === 'string' ? Buffer.from(entry.auth, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    if (colon <= 0) {
      problems.push({ source: path, field: `auths.${host}`, message: 'needs "auth" (base64 of user:password) or "username" and "password"' });
      continue;
    }
    logins.set(key, { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return logins;
}
