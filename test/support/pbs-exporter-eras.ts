// natrontech/pbs-exporter's release eras as fixtures: one release of each era, with the asset
// names goreleaser writes, kit-signed in the format of that era by the identities the real
// workflows sign with, and its container image with the evidence layout of that era pushed into a
// real registry. Facts from the project's release.yml, .goreleaser.yml and publish-image action at
// each tag (https://github.com/natrontech/pbs-exporter):
//   B v0.5.0-rc.0..v0.6.4  generators v2.0.0: multiple.intoto.jsonl holds bare DSSE envelopes (cert
//                          inline, no log entry: Rekor search); checksums.txt.pem + .sig (cosign
//                          sign-blob); image .sig in ghcr.io/natrontech/signatures, SBOM .att in
//                          ghcr.io/natrontech/sbom, image provenance .att in signatures
//                          (provenance-repository of the container generator).
//   C v0.6.5..v0.7.1       generators v2.1.0: the provenance is a Sigstore bundle v0.3; rest as B.
//   D v0.8.0               checksums.txt.sigstore.json (cosign sign-blob --bundle); rest as C.
//   E v0.9.0..v0.9.3       image provenance .att in the image's own repository; signature and SBOM
//                          as Sigstore bundles attached as OCI 1.1 referrers (cosign --new-bundle-format).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type DsseTlogKind, IN_TOTO_PAYLOAD_TYPE, type RekorApiEntry, type SigningKit, inTotoStatement } from '../kit/signing-kit';
import { COSIGN_SIGN, CYCLONEDX, type CosignLayerInput, DSSE, type PushedIndex, SIMPLE_SIGNING, pushBundleReferrers, pushCosignManifest, pushMultiArchImage } from './cosign-evidence';
import type { DoubleAsset, DoubleRelease } from './github-double';
import { type CallerRun, type GeneratorVersion, callerSignOptions, generatorSignOptions, generatorStatement } from './slsa-generator';

const ROOT = resolve(__dirname, '../../..');
export const PBS_EXPORTER_REPO = 'natrontech/pbs-exporter';
export const PBS_EXPORTER_POLICIES = join(ROOT, 'test', 'fixtures', 'policies', 'pbs-exporter');

export type EraName = 'B' | 'C' | 'D' | 'E';

export interface PbsExporterEra {
  era: EraName;
  tag: string;
  releaseId: number;
  publishedAt: string;
  /** The commit the tag points to (the real one). */
  sha: string;
  runId: string;
  generator: GeneratorVersion;
  provenance: 'bare-envelope' | 'bundle';
  checksumsSignature: 'pem-sig' | 'bundle';
  imageEvidence: 'tag-scheme' | 'referrers';
  /** Rekor entry kind of cosign's attestations in that era (cosign 2.4 moved from intoto to dsse). */
  cosignAttestKind: DsseTlogKind;
}

/** One release per era: the last of B, C and E, the only one of D. Commits and dates as tagged. */
export const PBS_EXPORTER_ERAS: readonly PbsExporterEra[] = [
  { era: 'B', tag: 'v0.6.4', releaseId: 190_000_064, publishedAt: '2024-12-28T20:55:00Z', sha: '4c0d53aab14c4520b91fe6591a0936d75d917bda', runId: '12529000064', generator: 'v2.0.0', provenance: 'bare-envelope', checksumsSignature: 'pem-sig', imageEvidence: 'tag-scheme', cosignAttestKind: 'intoto/0.0.2' },
  { era: 'C', tag: 'v0.7.1', releaseId: 190_000_071, publishedAt: '2025-09-02T09:40:00Z', sha: 'a83f353dc9e395f0959d361cb2c0f405984b260c', runId: '17398000071', generator: 'v2.1.0', provenance: 'bundle', checksumsSignature: 'pem-sig', imageEvidence: 'tag-scheme', cosignAttestKind: 'dsse/0.0.1' },
  { era: 'D', tag: 'v0.8.0', releaseId: 190_000_080, publishedAt: '2025-12-04T08:50:00Z', sha: '329725d48d368babe815247887093bda0338f28b', runId: '19923000080', generator: 'v2.1.0', provenance: 'bundle', checksumsSignature: 'bundle', imageEvidence: 'tag-scheme', cosignAttestKind: 'dsse/0.0.1' },
  { era: 'E', tag: 'v0.9.3', releaseId: 190_000_093, publishedAt: '2026-08-03T10:40:00Z', sha: 'cec990ca91ed2f8d4ed1ada9d0f6bff1f7f3d597', runId: '24511000093', generator: 'v2.1.0', provenance: 'bundle', checksumsSignature: 'bundle', imageEvidence: 'referrers', cosignAttestKind: 'dsse/0.0.1' },
];

/** goreleaser's builds: linux, darwin, windows on amd64 and arm64; windows archives are zip. */
export const RELEASE_PLATFORMS = ['darwin_amd64', 'darwin_arm64', 'linux_amd64', 'linux_arm64', 'windows_amd64', 'windows_arm64'] as const;
/** ko's platforms (.ko.yaml). */
export const IMAGE_PLATFORMS = ['linux/arm64', 'linux/arm/v7', 'linux/amd64'] as const;

export const sha256Hex = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

export function callerRun(era: PbsExporterEra): CallerRun {
  return { repository: PBS_EXPORTER_REPO, tag: era.tag, sha: era.sha, runId: era.runId };
}

export function archiveName(era: PbsExporterEra, platform: (typeof RELEASE_PLATFORMS)[number]): string {
  return `pbs-exporter_${era.tag}_${platform}.${platform.startsWith('windows') ? 'zip' : 'tar.gz'}`;
}

export interface EraRelease {
  era: PbsExporterEra;
  release: DoubleRelease;
  archives: Array<{ name: string; bytes: Buffer }>;
  sboms: Array<{ name: string; bytes: Buffer }>;
  checksums: Buffer;
  /** Log entries the Rekor double must serve, with the digests a search finds them by. */
  rekorEntries: Array<{ entry: RekorApiEntry; digests: string[] }>;
}

function uuidFrom(text: string): string {
  const h = createHash('sha256').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** syft's CycloneDX JSON for an archive (goreleaser `sboms: artifacts: archive`). */
function archiveSbom(era: PbsExporterEra, archive: string): Buffer {
  const purl = `pkg:golang/github.com/natrontech/pbs-exporter@${era.tag}`;
  return Buffer.from(
    `${JSON.stringify(
      {
        $schema: 'http://cyclonedx.org/schema/bom-1.6.schema.json',
        bomFormat: 'CycloneDX',
        specVersion: '1.6',
        serialNumber: `urn:uuid:${uuidFrom(archive)}`,
        version: 1,
        metadata: {
          timestamp: era.publishedAt,
          tools: { components: [{ type: 'application', author: 'anchore', name: 'syft', version: '1.18.1' }] },
          component: { 'bom-ref': uuidFrom(`${archive}#file`), type: 'file', name: archive },
        },
        components: [
          { 'bom-ref': `${purl}?package-id=${uuidFrom(purl).slice(0, 16)}`, type: 'library', name: 'github.com/natrontech/pbs-exporter', version: era.tag, purl },
          { 'bom-ref': 'pkg:golang/github.com/prometheus/client_golang@v1.20.5', type: 'library', name: 'github.com/prometheus/client_golang', version: 'v1.20.5', purl: 'pkg:golang/github.com/prometheus/client_golang@v1.20.5' },
        ],
      },
      null,
      2,
    )}\n`,
  );
}

/** cyclonedx-gomod's BOM of the module (gh-gomod-generate-sbom), what the image SBOM attestation carries. */
export function imageSbom(tag: string, purlProject = 'github.com/natrontech/pbs-exporter') {
  const purl = `pkg:golang/${purlProject}@${tag}?type=module`;
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.4',
    serialNumber: `urn:uuid:${uuidFrom(`image ${tag}`)}`,
    version: 1,
    metadata: { component: { 'bom-ref': purl, type: 'application', name: purlProject, version: tag, purl } },
    components: [{ 'bom-ref': 'pkg:golang/github.com/prometheus/client_golang@v1.20.5?type=module', type: 'library', name: 'github.com/prometheus/client_golang', version: 'v1.20.5', purl: 'pkg:golang/github.com/prometheus/client_golang@v1.20.5?type=module' }],
  };
}

/** The release of `era` as GitHub holds it, every evidence file signed by the kit the way that era signed it. */
export async function buildEraRelease(kit: SigningKit, era: PbsExporterEra): Promise<EraRelease> {
  const run = callerRun(era);
  const archives = RELEASE_PLATFORMS.map((p) => {
    const name = archiveName(era, p);
    // Distinct bytes per archive, of archive-like size, so each digest is its own.
    return { name, bytes: Buffer.concat([Buffer.from(`${name}\n`), createHash('sha512').update(name).digest(), Buffer.alloc(2048, p.length)]) };
  });
  const sboms = archives.map((a) => ({ name: `${a.name}.sbom.json`, bytes: archiveSbom(era, a.name) }));
  // goreleaser's checksum file covers archives and SBOMs, sorted by name; the generator is handed
  // exactly these lines (base64-subjects), so they are the provenance's subjects.
  const lines = [...archives, ...sboms].map((f) => ({ name: f.name, sha256: sha256Hex(f.bytes) })).sort((a, b) => a.name.localeCompare(b.name));
  const checksums = Buffer.from(lines.map((l) => `${l.sha256}  ${l.name}\n`).join(''));
  const rekorEntries: EraRelease['rekorEntries'] = [];

  const statement = generatorStatement('generic', era.generator, run, lines);
  let provenance: Buffer;
  if (era.provenance === 'bare-envelope') {
    // generator <= v2.0.0: one bare envelope per line, logged as intoto/0.0.2 (indexed by subject digest).
    const signed = await kit.signDsse(statement, IN_TOTO_PAYLOAD_TYPE, generatorSignOptions('generic', era.generator, run, 'intoto/0.0.2'));
    provenance = Buffer.from(`${JSON.stringify(signed.legacyEnvelope())}\n`);
    rekorEntries.push({ entry: signed.rekorApiEntry(), digests: lines.map((l) => l.sha256) });
  } else {
    const signed = await kit.signDsse(statement, IN_TOTO_PAYLOAD_TYPE, generatorSignOptions('generic', era.generator, run, 'dsse/0.0.1'));
    provenance = Buffer.from(JSON.stringify(signed.bundle('0.3')));
  }

  const signedChecksums = await kit.signBlob(checksums, callerSignOptions(run));
  const signatureFiles: Array<{ name: string; bytes: Buffer }> = [];
  if (era.checksumsSignature === 'pem-sig') {
    signatureFiles.push({ name: 'checksums.txt.pem', bytes: Buffer.from(signedChecksums.cosignPem) }, { name: 'checksums.txt.sig', bytes: Buffer.from(signedChecksums.cosignSig) });
    rekorEntries.push({ entry: signedChecksums.rekorApiEntry(), digests: [sha256Hex(checksums)] });
  } else {
    signatureFiles.push({ name: 'checksums.txt.sigstore.json', bytes: Buffer.from(JSON.stringify(signedChecksums.bundle('0.3'))) });
  }

  const files = [...archives, ...sboms, { name: 'checksums.txt', bytes: checksums }, ...signatureFiles, { name: 'multiple.intoto.jsonl', bytes: provenance }].sort((a, b) => a.name.localeCompare(b.name));
  const uploaded = new Date(Date.parse(era.publishedAt) - 5 * 60_000).toISOString();
  const assets: DoubleAsset[] = files.map((f, i) => ({ id: era.releaseId * 100 + i, name: f.name, bytes: f.bytes, updatedAt: uploaded }));
  return {
    era,
    release: { id: era.releaseId, tag: era.tag, prerelease: false, publishedAt: era.publishedAt, commit: era.sha, assets },
    archives,
    sboms,
    checksums,
    rekorEntries,
  };
}

export interface EraImage {
  /** `host/natrontech/pbs-exporter` */
  repository: string;
  image: PushedIndex;
}

/**
 * Pushes the era's image (a ko multi-arch index under its tag and `latest`) to `host` with that
 * era's evidence: the tag scheme in natrontech/signatures and natrontech/sbom (B–D), or the
 * provenance .att in the image repository and bundle referrers (E).
 */
export async function publishEraImage(kit: SigningKit, host: string, era: PbsExporterEra): Promise<EraImage> {
  const repo = 'natrontech/pbs-exporter';
  const repository = `${host}/${repo}`;
  const run = callerRun(era);
  const image = await pushMultiArchImage(host, repo, [era.tag, 'latest'], `pbs-exporter ${era.tag}`, IMAGE_PLATFORMS);
  const digest = image.index.digest;
  const subject = [{ name: repository, sha256: digest.replace(/^sha256:/, '') }];

  // The container generator's provenance, always in the tag scheme (pbs-exporter verifies it with --new-bundle-format=false).
  const provenance = await kit.signDsse(generatorStatement('container', era.generator, run, subject), IN_TOTO_PAYLOAD_TYPE, generatorSignOptions('container', era.generator, run, era.generator === 'v2.0.0' ? 'intoto/0.0.2' : 'dsse/0.0.1'));
  const provenanceLayer: CosignLayerInput = { mediaType: DSSE, blob: provenance.envelopeBytes, annotations: provenance.ociAnnotations() };
  const sbomStatement = inTotoStatement(subject, CYCLONEDX, imageSbom(era.tag));

  if (era.imageEvidence === 'tag-scheme') {
    // cosign sign -a repo= -a workflow= -a ref= with COSIGN_REPOSITORY=ghcr.io/natrontech/signatures
    const payload = Buffer.from(
      JSON.stringify({
        critical: { identity: { 'docker-reference': repository }, image: { 'docker-manifest-digest': digest }, type: 'cosign container image signature' },
        optional: { ref: era.sha, repo: PBS_EXPORTER_REPO, workflow: 'goreleaser' },
      }),
    );
    const signature = await kit.signBlob(payload, callerSignOptions(run));
    await pushCosignManifest(host, 'natrontech/signatures', digest, 'sig', [{ mediaType: SIMPLE_SIGNING, blob: payload, annotations: signature.ociAnnotations() }]);
    // cosign attest --type cyclonedx with COSIGN_REPOSITORY=ghcr.io/natrontech/sbom
    const sbom = await kit.signDsse(sbomStatement, IN_TOTO_PAYLOAD_TYPE, callerSignOptions(run, era.cosignAttestKind));
    await pushCosignManifest(host, 'natrontech/sbom', digest, 'att', [{ mediaType: DSSE, blob: sbom.envelopeBytes, annotations: sbom.ociAnnotations() }]);
    // provenance-repository: ghcr.io/natrontech/signatures
    await pushCosignManifest(host, 'natrontech/signatures', digest, 'att', [provenanceLayer]);
  } else {
    await pushCosignManifest(host, repo, digest, 'att', [provenanceLayer]);
    // cosign sign / attest --new-bundle-format: DSSE statements in bundles, as referrers of the index.
    const signature = await kit.signDsse(inTotoStatement(subject, COSIGN_SIGN, {}), IN_TOTO_PAYLOAD_TYPE, callerSignOptions(run, 'dsse/0.0.1'));
    const sbom = await kit.signDsse(sbomStatement, IN_TOTO_PAYLOAD_TYPE, callerSignOptions(run, 'dsse/0.0.1'));
    await pushBundleReferrers(host, repo, image.index, [
      { bundle: signature.bundle('0.3'), annotation: COSIGN_SIGN },
      { bundle: sbom.bundle('0.3'), annotation: CYCLONEDX },
    ]);
  }
  return { repository, image };
}

/**
 * pbs-exporter's watchlist entry as provwatch.yaml ships it, with its registry moved to `host` and
 * the project's own CUE policies (policy.cue, policy-sbom.cue) attached to the image.
 */
export function pbsExporterWatchlistYaml(host: string): string {
  const shipped = readFileSync(join(ROOT, 'provwatch.yaml'), 'utf8');
  if (!shipped.includes('ghcr.io/natrontech/pbs-exporter')) throw new Error('provwatch.yaml no longer watches ghcr.io/natrontech/pbs-exporter');
  let added = false;
  const text = shipped.replaceAll('ghcr.io/', `${host}/`).replace(/^(\s+)sbom_repository: .+$/m, (line, indent: string) => {
    added = true;
    return `${line}\n${indent}provenance_policy: ${join(PBS_EXPORTER_POLICIES, 'policy.cue')}\n${indent}sbom_policy: ${join(PBS_EXPORTER_POLICIES, 'policy-sbom.cue')}`;
  });
  if (!added) throw new Error('provwatch.yaml has no sbom_repository line to attach the policies after');
  return text;
}
