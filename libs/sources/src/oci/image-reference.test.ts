import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SourceError } from '../source.error';
import { cosignTag, referrersTag } from './cosign-tag';
import { checkRepositoryName, parseImageReference } from './image-reference';

const D = `sha256:${'ab'.repeat(32)}`;

describe('parseImageReference', () => {
  const cases: Array<[string, object]> = [
    ['ghcr.io/org/repo:tag', { registry: 'ghcr.io', repository: 'org/repo', tag: 'tag' }],
    [`ghcr.io/org/repo@${D}`, { registry: 'ghcr.io', repository: 'org/repo', digest: D }],
    [`ghcr.io/org/repo:v1@${D}`, { registry: 'ghcr.io', repository: 'org/repo', tag: 'v1', digest: D }],
    ['localhost:5000/x/y:tag', { registry: 'localhost:5000', repository: 'x/y', tag: 'tag' }],
    ['127.0.0.1:5000/x', { registry: '127.0.0.1:5000', repository: 'x' }],
    ['localhost/x', { registry: 'localhost', repository: 'x' }],
    ['nginx', { registry: 'registry-1.docker.io', repository: 'library/nginx' }],
    ['nginx:1.27', { registry: 'registry-1.docker.io', repository: 'library/nginx', tag: '1.27' }],
    ['docker.io/nginx', { registry: 'registry-1.docker.io', repository: 'library/nginx' }],
    ['index.docker.io/bitnami/redis:7', { registry: 'registry-1.docker.io', repository: 'bitnami/redis', tag: '7' }],
    ['natrontech/pbs-exporter', { registry: 'registry-1.docker.io', repository: 'natrontech/pbs-exporter' }],
    ['GHCR.io/org/a.b_c__d-e', { registry: 'ghcr.io', repository: 'org/a.b_c__d-e' }],
  ];
  for (const [input, expected] of cases) {
    it(input, () => assert.deepEqual(parseImageReference(input), expected));
  }

  for (const bad of ['', 'ghcr.io/Org/repo', 'ghcr.io/org/../repo', 'ghcr.io/org/repo:', 'ghcr.io/org/repo@sha256:abc', `x@${D.toUpperCase()}`, 'a//b', 'ghcr.io/org/repo:-tag', 'ghcr.io/org/repo?x', 'ho st/x']) {
    it(`rejects ${JSON.stringify(bad)}`, () =>
      assert.throws(() => parseImageReference(bad), (e: unknown) => e instanceof SourceError && e.code === 'invalid-reference'));
  }
});

describe('checkRepositoryName', () => {
  it('keeps a host without dots as the registry', () => {
    assert.deepEqual(checkRepositoryName({ registry: 'registry', repository: 'x/y' }), { registry: 'registry', repository: 'x/y' });
    assert.deepEqual(checkRepositoryName({ registry: 'docker.io', repository: 'library/nginx' }), {
      registry: 'registry-1.docker.io',
      repository: 'library/nginx',
    });
    assert.throws(() => checkRepositoryName({ registry: 'a/b', repository: 'x' }), SourceError);
    assert.throws(() => checkRepositoryName({ registry: 'ghcr.io', repository: 'x/../y' }), SourceError);
  });
});

describe('cosign tags', () => {
  it('builds tag-scheme and referrers fallback tags', () => {
    assert.equal(cosignTag(D, 'sig'), `sha256-${'ab'.repeat(32)}.sig`);
    assert.equal(cosignTag(D, 'att'), `sha256-${'ab'.repeat(32)}.att`);
    assert.equal(cosignTag(D, 'sbom'), `sha256-${'ab'.repeat(32)}.sbom`);
    assert.equal(referrersTag(D), `sha256-${'ab'.repeat(32)}`);
    assert.throws(() => cosignTag('sha256:../x', 'sig'), SourceError);
  });
});
