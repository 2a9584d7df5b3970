// Media types, predicate types and flags shared by the tests that push kit-signed cosign evidence
// into a real registry (test/images/*.test.ts).
import { resolve } from 'node:path';
import { KIT_IDENTITY, KIT_ISSUER } from '../formats/format-fixtures';

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const SIMPLE_SIGNING = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const DSSE = 'application/vnd.dsse.envelope.v1+json';
export const BUNDLE_V03 = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const EMPTY = 'application/vnd.oci.empty.v1+json';
export const CYCLONEDX = 'https://cyclonedx.org/bom';
export const SLSA_V1 = 'https://slsa.dev/provenance/v1';
export const COSIGN_SIGN = 'https://sigstore.dev/cosign/sign/v1';
/** pbs-exporter's SBOM policy, as committed under test/fixtures. */
export const SBOM_POLICY = resolve(__dirname, '../../../test/fixtures/policies/pbs-exporter/policy-sbom.cue');
/** cosign's identity flags for the signing kit's certificates. */
export const IDENTITY = ['--certificate-identity', KIT_IDENTITY, '--certificate-oidc-issuer', KIT_ISSUER];
