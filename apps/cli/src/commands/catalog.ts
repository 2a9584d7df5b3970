import type { Command } from './command';
import {
  VERIFY_ARTIFACT_FLAGS,
  VERIFY_ATTESTATION_FLAGS,
  VERIFY_BLOB_ATTESTATION_FLAGS,
  VERIFY_BLOB_FLAGS,
  VERIFY_BUNDLE_FLAGS,
  VERIFY_CHECKSUMS_FLAGS,
  VERIFY_FLAGS,
  VERIFY_IMAGE_FLAGS,
} from './flag-tables';

const SLSA_PASSED = 'PASSED: Verified SLSA provenance';
const COSIGN_PASSED = 'Verified OK';
const IDENTITY_EXAMPLE = "--certificate-identity-regexp '^https://github\\.com/natrontech/pbs-exporter/\\.github/workflows/release\\.yml@refs/tags/v' --certificate-oidc-issuer https://token.actions.githubusercontent.com";

/*
 * Every command, as data. The implementations are required only when their command runs: the
 * sigstore, OCI and CUE libraries cost more to load than `--help` and `--version` take in all.
 */
export const COMMANDS: Command[] = [
  {
    name: 'verify-artifact',
    summary: 'verify SLSA provenance of release artifacts (slsa-verifier flags)',
    usage:
      'provwatch verify-artifact ARTIFACT... (--provenance-path FILE --source-uri github.com/OWNER/REPO | --repo OWNER/REPO) [--source-tag TAG | --source-branch BRANCH | --source-versioned-tag TAG] [--builder-id ID] [--repo OWNER/REPO | --owner OWNER] [--signer-workflow [HOST/]OWNER/REPO/PATH | --cert-identity SAN] [--deny-self-hosted-runners] [--print-provenance] [--trusted-root FILE] [--rekor-url URL] [--json]',
    flags: VERIFY_ARTIFACT_FLAGS,
    examples: [
      'provwatch verify-artifact pbs-exporter_linux_amd64 --provenance-path multiple.intoto.jsonl --source-uri github.com/natrontech/pbs-exporter --source-tag v0.9.0',
      'provwatch verify-artifact my-tool --provenance-path my-tool.sigstore.json --repo OWNER/REPO --signer-workflow OWNER/REPO/.github/workflows/release.yml',
      'GITHUB_TOKEN=... provwatch verify-artifact my-tool --repo OWNER/REPO --source-tag v1.2.0   # attestations fetched from GitHub, as gh attestation verify',
    ],
    passLine: SLSA_PASSED,
    load: () => require('./verify-artifact.command').runVerifyArtifact,
  },
  {
    name: 'verify-image',
    summary: 'verify SLSA provenance of a container image (slsa-verifier flags)',
    usage:
      'provwatch verify-image IMAGE@DIGEST|IMAGE:TAG --source-uri github.com/OWNER/REPO [--source-tag TAG | --source-branch BRANCH | --source-versioned-tag TAG] [--builder-id ID] [--provenance-repository REPO] [--policy FILE.cue] [--print-provenance] [--insecure-registry HOST:PORT] [--trusted-root FILE] [--json]',
    flags: VERIFY_IMAGE_FLAGS,
    examples: ['provwatch verify-image ghcr.io/natrontech/pbs-exporter:v0.9.0 --source-uri github.com/natrontech/pbs-exporter --source-tag v0.9.0 --policy policy.cue'],
    passLine: SLSA_PASSED,
    load: () => require('./verify-image.command').runVerifyImage,
  },
  {
    name: 'verify-blob',
    summary: 'verify a cosign blob signature (bundle, or --certificate/--signature with a Rekor lookup)',
    usage:
      'provwatch verify-blob FILE (--bundle B | --certificate C --signature S [--rekor-url URL]) ((--certificate-identity ID | --certificate-identity-regexp RE) (--certificate-oidc-issuer URL | --certificate-oidc-issuer-regexp RE) | --key PEM) [--trusted-root FILE] [--json]',
    flags: VERIFY_BLOB_FLAGS,
    examples: [
      `provwatch verify-blob checksums.txt --bundle checksums.txt.sigstore.json ${IDENTITY_EXAMPLE}`,
      `provwatch verify-blob checksums.txt --certificate checksums.txt.pem --signature checksums.txt.sig ${IDENTITY_EXAMPLE}`,
      'provwatch verify-blob release.tar.gz --bundle release.tar.gz.sigstore.json --key cosign.pub',
    ],
    passLine: COSIGN_PASSED,
    load: () => require('./verify-blob.command').runVerifyBlob,
  },
  {
    name: 'verify-blob-attestation',
    summary: 'verify a cosign attestation (Sigstore bundle) of a file, optionally against a CUE policy',
    usage:
      'provwatch verify-blob-attestation FILE --bundle B [--type TYPE] [--policy FILE.cue] ((--certificate-identity ID | --certificate-identity-regexp RE) (--certificate-oidc-issuer URL | --certificate-oidc-issuer-regexp RE) | --key PEM) [--trusted-root FILE] [--json]',
    flags: VERIFY_BLOB_ATTESTATION_FLAGS,
    examples: [`provwatch verify-blob-attestation pbs-exporter.sbom.json --bundle sbom.intoto.sigstore.json --type cyclonedx --policy policy-sbom.cue ${IDENTITY_EXAMPLE}`],
    passLine: COSIGN_PASSED,
    load: () => require('./verify-blob-attestation.command').runVerifyBlobAttestation,
  },
  {
    name: 'verify-checksums',
    summary: 'verify a signed checksums.txt, then the digests of the release files it lists',
    usage:
      'provwatch verify-checksums CHECKSUMS_FILE FILE... (--bundle B | --certificate C --signature S) ((--certificate-identity ID | --certificate-identity-regexp RE) (--certificate-oidc-issuer URL | --certificate-oidc-issuer-regexp RE) | --key PEM) [--require-all] [--trusted-root FILE] [--json]',
    flags: VERIFY_CHECKSUMS_FLAGS,
    examples: [`provwatch verify-checksums checksums.txt pbs-exporter_linux_amd64 pbs-exporter.sbom.json --bundle checksums.txt.sigstore.json ${IDENTITY_EXAMPLE}`],
    passLine: 'PASSED: Verified checksums',
    load: () => require('./verify-blob.command').runVerifyChecksums,
  },
  {
    name: 'verify-bundle',
    summary: 'verify a Sigstore bundle over a file or a sha256/sha384/sha512 digest (sigstore-conformance protocol)',
    usage:
      'provwatch verify-bundle --bundle FILE (--certificate-identity ID --certificate-oidc-issuer URL | --key PEM) [--trusted-root FILE] [--staging] [--json] FILE|./FILE|sha256:HEX|sha384:HEX|sha512:HEX',
    flags: VERIFY_BUNDLE_FLAGS,
    examples: [
      'provwatch verify-bundle --bundle artifact.sigstore.json --certificate-identity https://github.com/OWNER/REPO/.github/workflows/release.yml@refs/tags/v1.0.0 --certificate-oidc-issuer https://token.actions.githubusercontent.com artifact',
    ],
    passLine: 'PASSED: Verified bundle',
    load: () => require('./verify-bundle.command').runVerifyBundle,
  },
  {
    name: 'verify',
    summary: 'verify cosign signatures of a container image (cosign verify flags)',
    usage:
      'provwatch verify IMAGE ((--certificate-identity ID | --certificate-identity-regexp RE) (--certificate-oidc-issuer URL | --certificate-oidc-issuer-regexp RE) | --key PEM) [--signatures-repository REPO] [--insecure-registry HOST:PORT] [--trusted-root FILE] [--json]',
    flags: VERIFY_FLAGS,
    examples: [`provwatch verify ghcr.io/natrontech/pbs-exporter:v0.7.0 --signatures-repository ghcr.io/natrontech/signatures ${IDENTITY_EXAMPLE}`, 'provwatch verify registry.example.com/team/app:v1.2.0 --key cosign.pub'],
    passLine: COSIGN_PASSED,
    load: () => require('./verify.command').runVerify,
  },
  {
    name: 'verify-attestation',
    summary: 'verify cosign attestations of a container image, optionally against a CUE policy',
    usage:
      'provwatch verify-attestation IMAGE --type slsaprovenance|slsaprovenance1|cyclonedx|URI [--policy FILE.cue] ((--certificate-identity ID | --certificate-identity-regexp RE) (--certificate-oidc-issuer URL | --certificate-oidc-issuer-regexp RE) | --key PEM) [--attestations-repository REPO] [--insecure-registry HOST:PORT] [--trusted-root FILE] [--json]',
    flags: VERIFY_ATTESTATION_FLAGS,
    examples: [`provwatch verify-attestation ghcr.io/natrontech/pbs-exporter:v0.9.0 --type cyclonedx --policy policy-sbom.cue ${IDENTITY_EXAMPLE}`],
    passLine: COSIGN_PASSED,
    load: () => require('./verify-attestation.command').runVerifyAttestation,
  },
];
