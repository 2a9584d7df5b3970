import type { ParseArgsConfig } from 'node:util';

/**
 * Every command's flags, as data only. `provwatch --help` and `<command> --help` read these
 * tables without loading the verification libraries (the CLI starts in tens of milliseconds);
 * each command's run() parses with exactly the same table, so help and parser cannot disagree.
 */
export type FlagTable = NonNullable<ParseArgsConfig['options']>;

/** Flags shared by every verify command. */
export const COMMON_FLAGS = {
  'trusted-root': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies FlagTable;

/** cosign's identity flags: one identity flag and one issuer flag, exact or regexp. */
export const IDENTITY_FLAGS = {
  'certificate-identity': { type: 'string' },
  'certificate-identity-regexp': { type: 'string' },
  'certificate-oidc-issuer': { type: 'string' },
  'certificate-oidc-issuer-regexp': { type: 'string' },
} as const satisfies FlagTable;

export const IMAGE_FLAGS = {
  'insecure-registry': { type: 'string', multiple: true },
} as const satisfies FlagTable;

/** slsa-verifier's source and builder flags, shared by verify-artifact and verify-image. */
export const SLSA_FLAGS = {
  'source-uri': { type: 'string' },
  'source-tag': { type: 'string' },
  'source-branch': { type: 'string' },
  'source-versioned-tag': { type: 'string' },
  'builder-id': { type: 'string' },
  'print-provenance': { type: 'boolean' },
} as const satisfies FlagTable;

/** `gh attestation verify`'s policy flags, for GitHub artifact attestations (verify-artifact). */
export const GITHUB_ATTESTATION_FLAGS = {
  'signer-workflow': { type: 'string' },
  'cert-identity': { type: 'string' },
  repo: { type: 'string' },
  owner: { type: 'string' },
  'deny-self-hosted-runners': { type: 'boolean' },
} as const satisfies FlagTable;

export const VERIFY_ARTIFACT_FLAGS = {
  ...COMMON_FLAGS,
  'provenance-path': { type: 'string' },
  ...SLSA_FLAGS,
  ...GITHUB_ATTESTATION_FLAGS,
  'rekor-url': { type: 'string' },
} as const satisfies FlagTable;

export const VERIFY_IMAGE_FLAGS = {
  ...COMMON_FLAGS,
  ...IMAGE_FLAGS,
  ...SLSA_FLAGS,
  'provenance-repository': { type: 'string', multiple: true },
  policy: { type: 'string' },
} as const satisfies FlagTable;

export const VERIFY_BLOB_FLAGS = {
  ...COMMON_FLAGS,
  ...IDENTITY_FLAGS,
  bundle: { type: 'string' },
  certificate: { type: 'string' },
  signature: { type: 'string' },
  key: { type: 'string' },
  'rekor-url': { type: 'string' },
} as const satisfies FlagTable;

export const VERIFY_CHECKSUMS_FLAGS = { ...VERIFY_BLOB_FLAGS, 'require-all': { type: 'boolean' } } as const satisfies FlagTable;

export const VERIFY_BLOB_ATTESTATION_FLAGS = {
  ...COMMON_FLAGS,
  ...IDENTITY_FLAGS,
  bundle: { type: 'string' },
  key: { type: 'string' },
  type: { type: 'string' },
  policy: { type: 'string' },
} as const satisfies FlagTable;

export const VERIFY_BUNDLE_FLAGS = {
  ...COMMON_FLAGS,
  ...IDENTITY_FLAGS,
  bundle: { type: 'string' },
  key: { type: 'string' },
  staging: { type: 'boolean' },
} as const satisfies FlagTable;

export const VERIFY_FLAGS = {
  ...COMMON_FLAGS,
  ...IDENTITY_FLAGS,
  ...IMAGE_FLAGS,
  key: { type: 'string' },
  'signatures-repository': { type: 'string', multiple: true },
} as const satisfies FlagTable;

export const VERIFY_ATTESTATION_FLAGS = {
  ...COMMON_FLAGS,
  ...IDENTITY_FLAGS,
  ...IMAGE_FLAGS,
  key: { type: 'string' },
  type: { type: 'string' },
  policy: { type: 'string' },
  'attestations-repository': { type: 'string', multiple: true },
} as const satisfies FlagTable;
