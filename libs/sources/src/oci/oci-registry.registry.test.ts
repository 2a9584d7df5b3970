// Against a real distribution 2.8 registry, with slsa-github-generator's container vectors pushed
// byte for byte (their digests are the real ones).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type TestRegistry,
  pushBlob,
  pushJsonManifest,
  pushOciLayout,
  startRegistry,
} from '../../../../test/support/registry';
import { vector } from '../../../../test/support/vectors';
import { SourceError } from '../source.error';
import { cosignTag, referrersTag } from './cosign-tag';
import { MediaTypes, isIndex } from './oci-manifest.schema';
import { OciRegistryClient } from './oci-registry.client';

const LAYOUT = vector('slsa-github-generator', 'container-v2.1.0', 'container_workflow_dispatch');
const INDEX_DIGEST = readFileSync(vector('slsa-github-generator', 'container-v2.1.0', 'container_workflow_dispatch.digest'), 'utf8').trim();
const ATT_DIGEST = 'sha256:21454caf3a160dfbe6359f0501aa8401c6c0f2c7a8b71380ea21f8c4b48b64fe';
const DSSE_LAYER = 'sha256:e163b472f2e5d66e5a2a45e26e020c51a0d2da7dc8b567b31fc2ebfd33dbc33a';
const BIG_LAYER = 'sha256:f3fe5c5572e51deec42a89217be61408d662771be49ab28f5874a1268e286df3';
const BUNDLE_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
const REPO = 'slsa-framework/example-package';

async function rejects(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (e: unknown) => e instanceof SourceError && e.code === code);
}

describe('OciRegistryClient against docker-registry 2.8', () => {
  let registry: TestRegistry;
  let client: OciRegistryClient;
  let repo: string;

  before(async () => {
    registry = await startRegistry();
    client = new OciRegistryClient({ insecureHosts: [registry.host], timeoutMs: 10_000 });
    repo = `${registry.host}/${REPO}`;
    await pushOciLayout(registry.host, REPO, LAYOUT, 'v1');
  });

  after(async () => {
    await registry?.stop();
  });

  it('lists tags, also page by page through Link', async () => {
    const expected = [cosignTag(INDEX_DIGEST, 'att'), 'v1'].sort();
    assert.deepEqual((await client.listTags(repo)).sort(), expected);
    assert.deepEqual((await client.listTags(repo, { pageSize: 1 })).sort(), expected);
  });

  it('fetches the image index by tag and by digest with the vector digest', async () => {
    const byTag = await client.getManifest(repo, 'v1');
    assert.equal(byTag.digest, INDEX_DIGEST);
    assert.equal(byTag.mediaType, MediaTypes.ociIndex);
    assert.ok(isIndex(byTag.json));
    assert.equal(byTag.json.manifests.length, 2);
    const byDigest = await client.getManifest(repo, INDEX_DIGEST);
    assert.equal(byDigest.digest, INDEX_DIGEST);
    assert.deepEqual(byDigest.bytes, byTag.bytes);
    const head = await client.headManifest(repo, 'v1');
    assert.equal(head.digest, INDEX_DIGEST);
    assert.equal(head.size, byTag.size);
  });

  it('reports an absent manifest, tag or repository as not-found', async () => {
    await rejects(client.getManifest(repo, `sha256:${'0'.repeat(64)}`), 'registry-not-found');
    await rejects(client.getManifest(repo, 'v2'), 'registry-not-found');
    await rejects(client.listTags(`${registry.host}/nobody/here`), 'registry-not-found');
  });

  it('asks only for the media types given (the registry then answers 404 for an index)', async () => {
    await rejects(client.getManifest(repo, 'v1', [MediaTypes.ociManifest]), 'registry-not-found');
  });

  it('finds the cosign attestation through the tag scheme, also in another repository', async () => {
    const att = await client.findCosignArtifact(repo, INDEX_DIGEST, 'att');
    assert.ok(att);
    assert.equal(att.digest, ATT_DIGEST);
    assert.ok(!isIndex(att.json));
    assert.equal(att.json.layers[0].mediaType, 'application/vnd.dsse.envelope.v1+json');
    assert.ok(att.json.layers[0].annotations?.['dev.sigstore.cosign/bundle']);
    assert.equal(await client.findCosignArtifact(repo, INDEX_DIGEST, 'sig'), null);

    // COSIGN_REPOSITORY style: signatures live in a separate repository.
    await pushOciLayout(registry.host, 'natrontech/signatures', LAYOUT, 'unused');
    const elsewhere = await client.findCosignArtifact(repo, INDEX_DIGEST, 'att', {
      repository: `${registry.host}/natrontech/signatures`,
    });
    assert.equal(elsewhere?.digest, ATT_DIGEST);
    assert.equal(await client.findCosignArtifact(repo, INDEX_DIGEST, 'att', { repository: `${registry.host}/natrontech/sbom` }), null);
  });

  it('downloads blobs with digest and size checks, whole or streamed', async () => {
    const dsse = await client.getBlob(repo, DSSE_LAYER, { expectedSize: 12888 });
    assert.equal(`sha256:${createHash('sha256').update(dsse).digest('hex')}`, DSSE_LAYER);
    assert.equal(JSON.parse(dsse.toString('utf8')).payloadType, 'application/vnd.in-toto+json');

    let chunks = 0;
    let total = 0;
    for await (const chunk of client.streamBlob(repo, BIG_LAYER)) {
      chunks++;
      total += chunk.length;
    }
    assert.equal(total, 651235);
    assert.ok(chunks > 1, 'streamed in more than one chunk');

    await rejects(client.getBlob(repo, BIG_LAYER, { maxBytes: 100_000 }), 'registry-too-large');
    await rejects(client.getBlob(repo, DSSE_LAYER, { expectedSize: 100 }), 'registry-too-large');
    await rejects(client.getBlob(repo, `sha256:${'1'.repeat(64)}`), 'registry-not-found');
  });

  it('pushes layouts under their org.opencontainers.image.ref.name tags', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'provwatch-layout-'));
    try {
      mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
      const put = (bytes: Buffer) => {
        const hex = createHash('sha256').update(bytes).digest('hex');
        writeFileSync(join(dir, 'blobs', 'sha256', hex), bytes);
        return { digest: `sha256:${hex}`, size: bytes.length };
      };
      const config = put(Buffer.from('{}'));
      const layer = put(Buffer.from('hello'));
      const manifest = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: MediaTypes.ociManifest,
          config: { mediaType: MediaTypes.ociEmpty, ...config },
          layers: [{ mediaType: 'text/plain', ...layer }],
        }),
      );
      const m = put(manifest);
      writeFileSync(
        join(dir, 'index.json'),
        JSON.stringify({
          schemaVersion: 2,
          manifests: [{ mediaType: MediaTypes.ociManifest, ...m, annotations: { 'org.opencontainers.image.ref.name': 'v9' } }],
        }),
      );
      await pushOciLayout(registry.host, 'layout/named', dir, 'fallback');
      assert.deepEqual(await client.listTags(`${registry.host}/layout/named`), ['v9']);
      assert.equal((await client.getManifest(`${registry.host}/layout/named`, 'v9')).digest, m.digest);
      assert.deepEqual(await client.getBlob(`${registry.host}/layout/named`, layer.digest), Buffer.from('hello'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('falls back to the sha256-<hex> referrers tag (distribution 2.8 has no referrers API)', async () => {
    assert.deepEqual(await client.getReferrers(repo, INDEX_DIGEST), { source: 'none', manifests: [] });

    // A new-format (cosign --new-bundle-format) referrer and the fallback index a pusher writes.
    const empty = await pushBlob(registry.host, REPO, Buffer.from('{}'));
    const bundleLayer = await pushBlob(registry.host, REPO, Buffer.from('{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}'));
    const subject = await client.headManifest(repo, INDEX_DIGEST);
    const referrer = await pushJsonManifest(registry.host, REPO, {
      schemaVersion: 2,
      mediaType: MediaTypes.ociManifest,
      artifactType: BUNDLE_TYPE,
      config: { mediaType: MediaTypes.ociEmpty, ...empty },
      layers: [{ mediaType: BUNDLE_TYPE, ...bundleLayer }],
      subject: { mediaType: MediaTypes.ociIndex, digest: INDEX_DIGEST, size: subject.size },
      annotations: { 'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1' },
    });
    await pushJsonManifest(
      registry.host,
      REPO,
      {
        schemaVersion: 2,
        mediaType: MediaTypes.ociIndex,
        manifests: [{ mediaType: MediaTypes.ociManifest, digest: referrer.digest, size: referrer.size, artifactType: BUNDLE_TYPE }],
      },
      [referrersTag(INDEX_DIGEST)],
    );

    const all = await client.getReferrers(repo, INDEX_DIGEST);
    assert.equal(all.source, 'tag');
    assert.deepEqual(all.manifests.map((d) => d.digest), [referrer.digest]);
    const bundles = await client.getReferrers(repo, INDEX_DIGEST, { artifactType: BUNDLE_TYPE });
    assert.equal(bundles.manifests.length, 1);
    const other = await client.getReferrers(repo, INDEX_DIGEST, { artifactType: 'application/spdx+json' });
    assert.equal(other.manifests.length, 0);

    const fetched = await client.getManifest(repo, referrer.digest);
    assert.ok(!isIndex(fetched.json));
    assert.equal(fetched.json.subject?.digest, INDEX_DIGEST);
  });
});
