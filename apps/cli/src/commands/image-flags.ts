import { ImageEvidenceCollector, OciRegistryClient, SourceError, parseImageReference, parseRepositoryName } from '@provwatch/sources';
import { UsageError } from '../cli.error';

export const IMAGE_FLAGS = {
  'insecure-registry': { type: 'string', multiple: true },
} as const;

/** Registry access for one command: plain HTTP only for the hosts named with --insecure-registry. */
export function imageEvidenceCollector(values: { 'insecure-registry'?: string[] }): ImageEvidenceCollector {
  return new ImageEvidenceCollector(new OciRegistryClient({ insecureHosts: values['insecure-registry'] ?? [], userAgent: 'provwatch-cli' }));
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

/** cosign's `--type` shorthands for predicate types. */
export const PREDICATE_TYPES: Record<string, string> = {
  slsaprovenance: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance02: 'https://slsa.dev/provenance/v0.2',
  slsaprovenance1: 'https://slsa.dev/provenance/v1',
  cyclonedx: 'https://cyclonedx.org/bom',
  spdxjson: 'https://spdx.dev/Document',
  spdx: 'https://spdx.dev/Document',
  vuln: 'https://cosign.sigstore.dev/attestation/vuln/v1',
  custom: 'https://cosign.sigstore.dev/attestation/v1',
};
