import { UsageError } from '../cli.error';

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

/** cosign's --type: a shorthand or a predicate type URI. cosign defaults to `custom`; so does this. */
export function predicateTypeFlag(value: string | undefined): string {
  const type = value ?? 'custom';
  const uri = PREDICATE_TYPES[type] ?? (/^https?:\/\//.test(type) ? type : undefined);
  if (!uri) throw new UsageError(`unknown --type ${JSON.stringify(type)}: use ${Object.keys(PREDICATE_TYPES).join(', ')} or a predicate type URI`);
  return uri;
}
