import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, type RegistryLogin, loadRegistryAuthFile } from '@provwatch/config';
import { ImageEvidenceCollector, OciRegistryClient, SourceError, parseImageReference, parseRepositoryName } from '@provwatch/sources';
import { UsageError } from '../cli.error';

/**
 * Registry access for one command: plain HTTP only for the hosts named with --insecure-registry,
 * and the logins `docker login` / `crane auth login` wrote, as cosign and crane read them
 * (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`). Credentials go only to the
 * registry host they are stored for (the client drops them on redirects to storage hosts).
 */
export function imageEvidenceCollector(values: { 'insecure-registry'?: string[] }, env: NodeJS.ProcessEnv, warn: (m: string) => void): ImageEvidenceCollector {
  const logins = registryLogins(env, warn);
  return new ImageEvidenceCollector(
    new OciRegistryClient({ insecureHosts: values['insecure-registry'] ?? [], userAgent: 'provwatch-cli', credentials: (host) => logins.get(host.toLowerCase()) }),
  );
}

/** The Docker config's logins; none when there is no such file (anonymous pulls, as docker does). */
export function registryLogins(env: NodeJS.ProcessEnv, warn: (m: string) => void): Map<string, RegistryLogin> {
  const dir = env.DOCKER_CONFIG ? env.DOCKER_CONFIG : join(env.HOME || homedir(), '.docker');
  const file = join(dir, 'config.json');
  if (!existsSync(file)) return new Map();
  try {
    const logins = loadRegistryAuthFile(file);
    if (logins.size === 0) warn(`note: ${file} holds no inline logins (credential helpers are not used); pulling anonymously`);
    return logins;
  } catch (err) {
    // A broken credentials file is the caller's to fix; guessing "anonymous" could hide why a pull fails.
    if (err instanceof ConfigError) throw new UsageError(`registry credentials: ${err.problems.map((p) => `${p.field}: ${p.message}`).join('; ')} (${file})`);
    throw err;
  }
}

/**
 * The IMAGE argument, parsed before anything is fetched: a malformed reference is the caller's
 * mistake (exit 2), not an unreachable registry (`source-unavailable`, retried). It must name a
 * tag or a digest: which image "no tag" means is a guess provwatch does not make.
 */
export function imageArgument(value: string): string {
  let ref;
  try {
    ref = parseImageReference(value);
  } catch (err) {
    if (err instanceof SourceError) throw new UsageError(err.message);
    throw err;
  }
  if (!ref.tag && !ref.digest) throw new UsageError(`image reference ${JSON.stringify(value)} names neither a tag nor a digest: add :TAG or @sha256:DIGEST`);
  return value;
}

/**
 * Comma-separated and repeated repository flags, plus cosign's COSIGN_REPOSITORY, each checked
 * to be a repository name up front (usage error naming the flag or the variable).
 */
export function repositories(flag: string, values: string[] | undefined, env: NodeJS.ProcessEnv): string[] {
  const sources: Array<[string, string]> = (values ?? []).map((v) => [`--${flag}`, v]);
  if (env.COSIGN_REPOSITORY !== undefined && env.COSIGN_REPOSITORY !== '') sources.push(['COSIGN_REPOSITORY', env.COSIGN_REPOSITORY]);
  const out: string[] = [];
  for (const [origin, value] of sources) {
    for (const item of value.split(',').map((v) => v.trim())) {
      if (item === '') throw new UsageError(`${origin} ${JSON.stringify(value)} has an empty repository in its list`);
      try {
        parseRepositoryName(item);
      } catch (err) {
        if (err instanceof SourceError) throw new UsageError(`${origin}: ${err.message.replace('image reference', 'repository')}`);
        throw err;
      }
      out.push(item);
    }
  }
  return out;
}
