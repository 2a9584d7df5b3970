import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { regexpSafetyProblem } from './regexp-safety';

// Shapes with catastrophic backtracking: each pins V8 for seconds to hours on ~30 characters.
const EVIL = [
  '^(a+)+$',
  '^(a*)*$',
  '^(?:a+)+$',
  '^(.*)*$',
  '^(.+)+@refs/tags/v1$',
  '^(\\w+\\s?)+$',
  '^([a-zA-Z0-9]+)*$',
  '^(x+x+)+y$',
  '^(a|aa)+$',
  '^(a|a?)+$',
  '^(\\d|\\w)*$',
  '^(a?){2,}$',
  '^((ab)*c?)+$',
  '^https://github\\.com/(.*/)*release\\.yml$',
  '^https://github\\.com/([^/]+/?)+\\.github/workflows/release\\.yml$',
  '^(?<name>a{1,5})+$',
  '^(\\.[0-9.]+)*$',
];

// Patterns as real watchlists and cosign invocations write them.
const LEGITIMATE = [
  '^https://github\\.com/natrontech/pbs-exporter/\\.github/workflows/release\\.yml@refs/tags/v.*$',
  '^https://github.com/natrontech/pbs-exporter/.github/workflows/release.yml@refs/tags/v[0-9]+.[0-9]+.[0-9]+(-rc.[0-9]+)?$',
  '^https://github\\.com/slsa-framework/slsa-github-generator/\\.github/workflows/generator_(generic|container)_slsa3\\.yml@refs/tags/v[0-9]+\\.[0-9]+\\.[0-9]+$',
  '^https://github\\.com/[^/]+/[^/]+/\\.github/workflows/[^/]+\\.ya?ml@refs/(heads/main|tags/v.*)$',
  '^https://github\\.com/sigstore/cosign/\\.github/workflows/release\\.yaml@refs/tags/v\\d+(\\.\\d+)*$',
  '^https://github\\.com/org/repo/\\.github/workflows/build\\.yml@refs/tags/v\\d+(\\.\\d+){2}(-rc\\.\\d+)?$',
  '^https://gitlab\\.com/group/([a-z0-9-]+/)*project//\\.gitlab-ci\\.yml@refs/heads/main$',
  '^[^@]+@example\\.com$',
  'https://github.com/chainguard-images/images/.github/workflows/release.yaml@refs/heads/main',
  '^https://github\\.com/(?:kyverno|sigstore)/[a-z-]+/\\.github/workflows/release\\.yaml@refs/tags/v[0-9]+\\.[0-9]+\\.[0-9]+(?:-(?:alpha|beta|rc)\\.[0-9]+)?$',
];

describe('identity patterns: backtracking-safe subset', () => {
  for (const pattern of EVIL) {
    test(`rejects ${pattern}`, () => {
      const problem = regexpSafetyProblem(pattern);
      assert.ok(problem, `${pattern} was accepted`);
      assert.match(problem, /nested quantifier|overlapping alternatives/);
    });
  }
  for (const pattern of LEGITIMATE) {
    test(`accepts ${pattern}`, () => {
      assert.equal(regexpSafetyProblem(pattern), undefined);
      new RegExp(pattern); // and it is a valid JavaScript regexp
    });
  }

  test('the evil ones are really slow, the check is what stops them (a bounded sample)', () => {
    const started = Date.now();
    /^(a+)+$/.test(`${'a'.repeat(22)}!`);
    assert.ok(Date.now() - started > 5, 'exponential backtracking is measurable on 22 characters');
  });

  test('the reason names the repeated group', () => {
    assert.match(regexpSafetyProblem('^(a+)+$')!, /a\+ inside the repeated group \(a\+\)\+/);
    assert.match(regexpSafetyProblem('^(a|ab)*$')!, /\(a\|ab\)\*/);
  });
});
