import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { type Verdict, missingVerdict, passVerdict } from '../verdict';
import { checkReleaseTag } from './release-tag';

const BUILT = '4d329c75e7ec1725f7c9ce917a8799d408d06be3';
const OTHER = '0123456789abcdef0123456789abcdef01234567';
const provenance: Verdict = passVerdict('ok', { sourceDigest: BUILT });

describe('release tag', () => {
  test('a tag at the commit the provenance built, and first seen there, passes', () => {
    const first = checkReleaseTag({ tag: 'v14', now: { commit: BUILT }, provenance });
    assert.equal(first.status, 'pass', first.message);
    const later = checkReleaseTag({ tag: 'v14', now: { commit: BUILT.toUpperCase() }, firstCommit: BUILT, provenance });
    assert.equal(later.status, 'pass', later.message);
  });

  test('forged: a tag moved before provwatch first saw it fails against the verified provenance', () => {
    const verdict = checkReleaseTag({ tag: 'v14', now: { commit: OTHER }, provenance });
    assert.equal(verdict.status, 'fail');
    assert.equal(verdict.code, 'tag-moved');
    assert.match(verdict.message, new RegExp(`points at ${OTHER}, but the verified provenance built ${BUILT}`));
  });

  test('forged: a tag moved after it was first seen fails, with or without provenance', () => {
    const withoutProvenance = missingVerdict('no provenance');
    const verdict = checkReleaseTag({ tag: 'v1.0.0', now: { commit: OTHER }, firstCommit: BUILT, provenance: withoutProvenance });
    assert.equal(verdict.code, 'tag-moved');
    assert.match(verdict.message, /moved from .* to .* after it was first seen/);
    assert.equal(checkReleaseTag({ tag: 'v1.0.0', now: { commit: OTHER }, provenance: withoutProvenance }).status, 'pass', 'nothing to compare with yet');
  });

  test('forged: a deleted tag fails', () => {
    const verdict = checkReleaseTag({ tag: 'v14', now: 'absent', firstCommit: BUILT, provenance });
    assert.equal(verdict.code, 'tag-moved');
    assert.match(verdict.message, /no longer exists/);
  });

  test('a provenance that did not pass vouches for no commit', () => {
    const failed: Verdict = { status: 'fail', code: 'signature-invalid', message: 'x', evidence: { sourceDigest: OTHER } };
    assert.equal(checkReleaseTag({ tag: 'v14', now: { commit: BUILT }, provenance: failed }).status, 'pass');
  });
});
