import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import {
  DigestSyntaxError,
  artifactFromDigest,
  artifactFromSha256,
  formatArtifactDigest,
  parseArtifactDigest,
  parseSha256Digest,
} from './artifact';

const BYTES = Buffer.from('artifact');
const h = (alg: string) => createHash(alg).update(BYTES).digest('hex');

describe('artifact digests', () => {
  test('sha256, sha384 and sha512 digests parse; other text is not a digest', () => {
    for (const alg of ['sha256', 'sha384', 'sha512'] as const) assert.deepEqual(parseArtifactDigest(`${alg}:${h(alg)}`), { algorithm: alg, hex: h(alg) });
    assert.equal(parseArtifactDigest('./sha256:abc'), undefined);
    assert.equal(parseArtifactDigest('artifact.tar.gz'), undefined);
    assert.equal(parseSha256Digest(`sha256:${h('sha256')}`), h('sha256'));
    assert.equal(parseSha256Digest(`sha512:${h('sha512')}`), undefined);
    assert.equal(parseSha256Digest('sha256:zz'), undefined);
  });

  test('text written as a digest but malformed throws, saying what is wrong', () => {
    for (const [bad, why] of [
      ['sha256:', /no hex digits/],
      [`sha256:${h('sha256').slice(1)}`, /needs 64 hex digits, got 63/],
      [`sha512:${h('sha256')}`, /needs 128 hex digits, got 64/],
      [`sha256:${h('sha256').toUpperCase()}`, /upper-case hex/],
      [`SHA256:${h('sha256')}`, /lower case \(sha256:\)/],
      [`sha256:${h('sha256').slice(2)}zz`, /not hex digits/],
      ['md5:abc', /unsupported algorithm "md5"/],
      ['sha-256:abc', /unsupported algorithm/],
    ] as const) {
      assert.throws(() => parseArtifactDigest(bad), (e: unknown) => e instanceof DigestSyntaxError && why.test(e.message), bad);
    }
  });

  test('an artifact given by one digest carries that one only', () => {
    const a = artifactFromDigest('sha512', h('sha512'));
    assert.deepEqual(Object.keys(a.digests), ['sha512']);
    assert.equal(formatArtifactDigest(a), `sha512:${h('sha512')}`);
    assert.equal(formatArtifactDigest(artifactFromSha256(h('sha256'))), `sha256:${h('sha256')}`);
  });
});
