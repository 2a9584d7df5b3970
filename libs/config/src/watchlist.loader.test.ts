import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError } from './config.error';
import { loadWatchlistFile, parseDuration } from './watchlist.loader';

const dir = mkdtempSync(join(tmpdir(), 'provwatch-config-'));
writeFileSync(join(dir, 'policy.cue'), 'predicateType: "https://slsa.dev/provenance/v0.2"\n');

function write(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function problemsOf(path: string) {
  try {
    loadWatchlistFile(path);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.problems;
  }
  assert.fail('expected a ConfigError');
}

// The example of DESIGN.md, with pbs-exporter's own (unanchored-dot) regexp.
const EXAMPLE = `targets:
  - name: pbs-exporter
    github: natrontech/pbs-exporter
    releases: { include_prereleases: true, keep_last: 10 }
    identity:
      issuer: https://token.actions.githubusercontent.com
      subject_regexp: '^https://github.com/natrontech/pbs-exporter/.github/workflows/release.yml@refs/tags/v[0-9]+.[0-9]+.[0-9]+(-rc.[0-9]+)?$'
    artifacts:
      provenance: multiple.intoto.jsonl
      checksums: checksums.txt
    images:
      - ref: ghcr.io/natrontech/pbs-exporter
        signatures_repository: ghcr.io/natrontech/signatures
        sbom_repository: ghcr.io/natrontech/sbom
        provenance_policy: policy.cue
`;

describe('watchlist', () => {
  test('the DESIGN.md example loads with defaults filled in', () => {
    const w = loadWatchlistFile(write('ok.yaml', EXAMPLE));
    assert.equal(w.targets.length, 1);
    const t = w.targets[0];
    assert.equal(t.name, 'pbs-exporter');
    assert.equal(t.sourceUri, 'github.com/natrontech/pbs-exporter');
    assert.deepEqual(t.releases, { includePrereleases: true, keepLast: 10 });
    assert.equal(t.images[0].signaturesRepository, 'ghcr.io/natrontech/signatures');
    assert.equal(t.images[0].provenancePolicy?.path, join(dir, 'policy.cue'));
    assert.match(t.images[0].provenancePolicy!.source, /predicateType/);
    assert.equal(t.pollIntervalSeconds, 300);
    // Unescaped dots are a warning, not an error: the project's own regexp is evaluated as written.
    assert.ok(t.warnings.some((w) => /unescaped dots/.test(w)));
  });

  test('every mistake is reported with file, line and field, at once', () => {
    const path = write(
      'bad.yaml',
      `targets:
  - name: Bad Name
    github: not-a-repo
    colour: blue
    identity:
      issuer: https://token.actions.githubusercontent.com
      subject_regexp: '^(unclosed$'
    images:
      - ref: ghcr.io/x/y
        provenance_policy: missing.cue
`,
    );
    const problems = problemsOf(path);
    const byField = new Map(problems.map((p) => [p.field, p]));
    assert.equal(byField.get('targets[0].name')?.line, 2);
    assert.equal(byField.get('targets[0].github')?.line, 3);
    assert.equal(byField.get('targets[0].colour')?.line, 4);
    assert.match(byField.get('targets[0].colour')!.message, /unknown key/);
    assert.equal(byField.get('targets[0].identity.subject_regexp')?.line, 7);
    assert.match(byField.get('targets[0].images[0].provenance_policy')!.message, /cannot read policy file/);
    for (const p of problems) assert.equal(p.source, path);
  });

  test('the error message names file and line for the operator', () => {
    const path = write('bad2.yaml', 'targets:\n  - name: x\n    github: a/b\n');
    assert.throws(() => loadWatchlistFile(path), (err: Error) => err instanceof ConfigError && err.message.includes(`${path}:2`) && /identity/.test(err.message));
  });

  test('malformed YAML, an empty list, duplicates and an unreadable file are rejected', () => {
    assert.match(problemsOf(write('y.yaml', 'targets: [\n'))[0].field, /yaml/);
    assert.equal(problemsOf(write('e.yaml', 'targets: []\n'))[0].field, 'targets');
    const dup = EXAMPLE + EXAMPLE.replace('targets:\n', '');
    assert.ok(problemsOf(write('d.yaml', dup)).some((p) => /duplicate target name/.test(p.message)));
    assert.match(problemsOf(join(dir, 'absent.yaml'))[0].message, /cannot read/);
  });

  test('identity needs exactly one of subject and subject_regexp', () => {
    const both = EXAMPLE.replace("      subject_regexp:", "      subject: https://x\n      subject_regexp:");
    assert.ok(problemsOf(write('both.yaml', both)).some((p) => p.field === 'targets[0].identity'));
  });

  test('durations', () => {
    assert.equal(parseDuration('90s'), 90);
    assert.equal(parseDuration('1h30m'), 5400);
    assert.equal(parseDuration('2d'), 172_800);
    assert.equal(parseDuration('5 minutes'), undefined);
    assert.equal(parseDuration(''), undefined);
  });
});

describe('evidence expectations in the watchlist', () => {
  const target = (extra: string) => `targets:
  - name: tool
    github: acme/tool
    identity: { issuer: https://token.actions.githubusercontent.com, subject: https://github.com/acme/tool/.github/workflows/release.yml@refs/tags/v1.0.0 }
${extra}`;

  test('expect and artifacts.sbom are read; unset keys follow the declarations', () => {
    const list = loadWatchlistFile(write('expect.yaml', target(`    artifacts: { provenance: multiple.intoto.jsonl, sbom: '*.sbom.json' }
    expect: { checksums: optional, image_signature: off, provenance: required, coverage: all }
`)));
    const t = list.targets[0];
    assert.equal(t.artifacts.sbom, '*.sbom.json');
    assert.deepEqual(t.expect, { checksums: 'optional', imageSignature: 'off', provenance: 'required', coverage: 'all' });
    const plain = loadWatchlistFile(write('plain.yaml', target(''))).targets[0];
    assert.deepEqual(plain.expect, { coverage: 'listed' });
  });

  test('unknown expectations, keys and coverage are refused with their line', () => {
    const problems = problemsOf(write('bad-expect.yaml', target(`    expect: { checksums: maybe, signatures: required, coverage: most }
`)));
    assert.deepEqual(
      problems.map((p) => [p.line, p.field]),
      [
        [5, 'targets[0].expect.signatures'],
        [5, 'targets[0].expect.checksums'],
        [5, 'targets[0].expect.coverage'],
      ],
    );
    assert.match(problems.find((p) => p.field.endsWith('checksums'))!.message, /required, optional or off/);
  });
});

test('a watchlist that is not a regular file is refused before it is opened (a FIFO would block the start)', () => {
  const fifo = join(dir, 'fifo.yaml');
  execFileSync('mkfifo', [fifo]);
  const problems = problemsOf(fifo);
  assert.match(problems[0].message, /not a regular file/);
  assert.match(problemsOf(dir)[0].message, /not a regular file/);
});

describe('identity regexps and policy files are checked at load', () => {
  const target = (identity: string, image = '') => `targets:
  - name: x
    github: a/b
    identity:
      issuer: https://token.actions.githubusercontent.com
${identity}${image}
`;

  test('a catastrophic identity regexp is refused, naming the key and the reason', () => {
    const path = write('evil.yaml', target(`      subject_regexp: '^(a+)+$'`));
    const problems = problemsOf(path);
    assert.equal(problems.length, 1);
    assert.equal(problems[0].field, 'targets[0].identity.subject_regexp');
    assert.equal(problems[0].line, 6);
    assert.match(problems[0].message, /not backtracking-safe: nested quantifier/);
  });

  test('a legitimate identity regexp loads', () => {
    const path = write('good.yaml', target(`      subject_regexp: '^https://github\\.com/natrontech/pbs-exporter/\\.github/workflows/release\\.yml@refs/tags/v.*$'`));
    assert.equal(loadWatchlistFile(path).targets[0].identity.subjectRegexp, '^https://github\\.com/natrontech/pbs-exporter/\\.github/workflows/release\\.yml@refs/tags/v.*$');
  });

  const image = (policy: string) => `    images:
      - ref: ghcr.io/a/b
        provenance_policy: ${policy}`;
  const policyProblem = (policy: string) => {
    const problems = problemsOf(write(`policy-${Math.random().toString(36).slice(2)}.yaml`, target(`      subject: https://github.com/a/b/.github/workflows/r.yml@refs/heads/main\n`, image(policy))));
    const p = problems.find((x) => x.field === 'targets[0].images[0].provenance_policy');
    assert.ok(p, JSON.stringify(problems));
    return p.message;
  };

  test('a policy path that is not a readable, bounded .cue file is refused at load', () => {
    assert.match(policyProblem('missing.cue'), /does not exist/);
    writeFileSync(join(dir, 'policy.yaml'), 'a: 1\n');
    assert.match(policyProblem('policy.yaml'), /is not a \.cue file/);
    mkdirSync(join(dir, 'dir.cue'), { recursive: true });
    assert.match(policyProblem('dir.cue'), /is not a regular file/);
    writeFileSync(join(dir, 'huge.cue'), Buffer.alloc(300 * 1024, 0x20));
    assert.match(policyProblem('huge.cue'), /is larger than/);
    writeFileSync(join(dir, 'empty.cue'), '\n');
    assert.match(policyProblem('empty.cue'), /is empty/);
    if (process.getuid?.() !== 0) {
      writeFileSync(join(dir, 'secret.cue'), 'a: 1\n');
      chmodSync(join(dir, 'secret.cue'), 0o000);
      assert.match(policyProblem('secret.cue'), /not readable/);
    }
  });
});
