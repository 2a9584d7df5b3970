import { ImageEvidenceCollector, OciRegistryClient } from '@provwatch/sources';

export const IMAGE_FLAGS = {
  'insecure-registry': { type: 'string', multiple: true },
} as const;

/** Registry access for one command: plain HTTP only for the hosts named with --insecure-registry. */
export function imageEvidenceCollector(values: { 'insecure-registry'?: string[] }): ImageEvidenceCollector {
  return new ImageEvidenceCollector(new OciRegistryClient({ insecureHosts: values['insecure-registry'] ?? [], userAgent: 'provwatch-cli' }));
}

/** Comma-separated and repeated repository flags, plus cosign's COSIGN_REPOSITORY. */
export function repositories(...values: Array<string | string[] | undefined>): string[] {
  return values
    .flat()
    .filter((v): v is string => typeof v === 'string' && v !== '')
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter(Boolean);
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
