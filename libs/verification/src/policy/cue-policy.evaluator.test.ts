import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { vector } from '../../../../test/support/vectors';
import { VerificationError, verdictFromError } from '../verdict';
import { CueWasmEngine } from './cue-wasm.engine';
import { INVOCATIONS, POLICY_FILE, STATEMENT_FILE } from './cue-wasm.protocol';
import { CuePolicyEvaluator, assertPolicyAllows } from './index';

function fixturesDir(): string {
  // Tests run from dist/; the fixtures stay in the source tree.
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const candidate = join(dir, 'test', 'fixtures', 'policies');
    if (existsSync(candidate)) return candidate;
  }
  throw new Error('test/fixtures/policies not found');
}
const policy = (...p: string[]): string => readFileSync(join(fixturesDir(), ...p), 'utf8');

const CONTAINER_BUILDER = 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.0.0';
const IMAGE = { name: 'ghcr.io/natrontech/pbs-exporter', digest: { sha256: 'a'.repeat(64) } };

/** What pbs-exporter's release workflow attests for its image (container generator, SLSA v0.2). */
function pbsProvenance(overrides: { builder?: string; uri?: string; entryPoint?: string; predicateType?: string } = {}): object {
  return {
    _type: 'https://in-toto.io/Statement/v0.1',
    predicateType: overrides.predicateType ?? 'https://slsa.dev/provenance/v0.2',
    subject: [IMAGE],
    predicate: {
      builder: { id: overrides.builder ?? CONTAINER_BUILDER },
      buildType: 'https://github.com/slsa-framework/slsa-github-generator/container@v1',
      invocation: {
        configSource: {
          uri: overrides.uri ?? 'git+https://github.com/natrontech/pbs-exporter@refs/tags/v0.9.0',
          digest: { sha1: 'b'.repeat(40) },
          entryPoint: overrides.entryPoint ?? '.github/workflows/release.yml',
        },
        parameters: {},
        environment: { github_event_name: 'push', github_ref: 'refs/tags/v0.9.0' },
      },
      metadata: { buildInvocationID: '1-1', completeness: { parameters: true, environment: false, materials: false }, reproducible: false },
      materials: [{ uri: 'git+https://github.com/natrontech/pbs-exporter@refs/tags/v0.9.0', digest: { sha1: 'b'.repeat(40) } }],
    },
  };
}

/** The same build described as SLSA provenance v1 (what newer generators emit). */
function pbsProvenanceV1(): object {
  return {
    _type: 'https://in-toto.io/Statement/v1',
    predicateType: 'https://slsa.dev/provenance/v1',
    subject: [IMAGE],
    predicate: {
      buildDefinition: {
        buildType: 'https://slsa-framework.github.io/github-actions-buildtypes/workflow/v1',
        externalParameters: { workflow: { ref: 'refs/tags/v0.9.0', repository: 'https://github.com/natrontech/pbs-exporter', path: '.github/workflows/release.yml' } },
      },
      runDetails: { builder: { id: CONTAINER_BUILDER } },
    },
  };
}

/** cosign attest --type cyclonedx of the SBOM that pbs-exporter's goreleaser/ko build produces. */
function pbsSbomStatement(bomRef = 'pkg:golang/github.com/natrontech/pbs-exporter@v0.9.0?type=module'): object {
  return {
    _type: 'https://in-toto.io/Statement/v0.1',
    predicateType: 'https://cyclonedx.org/bom',
    subject: [IMAGE],
    predicate: {
      bomFormat: 'CycloneDX',
      specVersion: '1.4',
      serialNumber: 'urn:uuid:6b6e7a1c-1111-4222-8333-944455556666',
      version: 1,
      metadata: {
        component: { 'bom-ref': bomRef, type: 'application', name: 'github.com/natrontech/pbs-exporter', version: 'v0.9.0', purl: bomRef },
      },
      components: [{ 'bom-ref': 'pkg:golang/github.com/prometheus/client_golang@v1.19.0?type=module', type: 'library', name: 'github.com/prometheus/client_golang', version: 'v1.19.0' }],
    },
  };
}

/** The real statement of the slsa-github-generator v2.1.0 container vector (DSSE layer payload). */
function examplePackageStatement(): Record<string, unknown> {
  const layout = vector('slsa-github-generator', 'container-v2.1.0', 'container_workflow_dispatch');
  const blob = (digest: string): Buffer => readFileSync(join(layout, 'blobs', 'sha256', digest.replace(/^sha256:/, '')));
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  for (const m of index.manifests) {
    const manifest = JSON.parse(blob(m.digest).toString('utf8')) as { layers?: Array<{ mediaType: string; digest: string }> };
    const layer = manifest.layers?.find((l) => l.mediaType === 'application/vnd.dsse.envelope.v1+json');
    if (layer) {
      const envelope = JSON.parse(blob(layer.digest).toString('utf8')) as { payload: string };
      return JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as Record<string, unknown>;
    }
  }
  throw new Error('no DSSE layer in the vector');
}

describe('CuePolicyEvaluator', () => {
  const evaluator = new CuePolicyEvaluator({ timeoutMs: 30_000 });
  before(() => evaluator.warmUp());
  after(() => evaluator.close());

  describe("pbs-exporter's policy.cue", () => {
    const source = policy('pbs-exporter', 'policy.cue');

    it('allows the provenance of a release tag and of a release candidate', async () => {
      assert.deepEqual(await evaluator.evaluate(source, pbsProvenance()), { allowed: true });
      assert.deepEqual(await evaluator.evaluate(source, pbsProvenance({ uri: 'git+https://github.com/natrontech/pbs-exporter@refs/tags/v0.10.0-rc.1' })), { allowed: true });
    });

    it('rejects another repository, naming the field', async () => {
      const r = await evaluator.evaluate(source, pbsProvenance({ uri: 'git+https://github.com/evil/pbs-exporter@refs/tags/v0.9.0' }));
      assert.equal(r.allowed, false);
      assert.match(r.message!, /predicate\.invocation\.configSource\.uri/);
      assert.match(r.message!, /policy\.cue:\d+:\d+/);
      assert.doesNotMatch(r.message!, /\/statement\.cue|\.\/policy/);
    });

    it('rejects a branch build, another builder and another entry point', async () => {
      const branch = await evaluator.evaluate(source, pbsProvenance({ uri: 'git+https://github.com/natrontech/pbs-exporter@refs/heads/main' }));
      assert.match(branch.message!, /configSource\.uri/);
      const builder = await evaluator.evaluate(source, pbsProvenance({ builder: 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v2.0.0' }));
      assert.match(builder.message!, /predicate\.builder\.id/);
      const entry = await evaluator.evaluate(source, pbsProvenance({ entryPoint: '.github/workflows/other.yml' }));
      assert.match(entry.message!, /configSource\.entryPoint/);
    });

    it('rejects SLSA provenance v1, which the policy does not describe', async () => {
      const r = await evaluator.evaluate(source, pbsProvenanceV1());
      assert.equal(r.allowed, false);
      assert.match(r.message!, /predicateType/);
    });

    it('rejects a statement that lacks the constrained fields (vet demands concrete values)', async () => {
      const r = await evaluator.evaluate(source, { _type: 'https://in-toto.io/Statement/v0.1', predicateType: 'https://slsa.dev/provenance/v0.2', subject: [IMAGE], predicate: {} });
      assert.equal(r.allowed, false);
      assert.match(r.message!, /incomplete value/);
    });
  });

  describe("pbs-exporter's policy-sbom.cue", () => {
    const source = policy('pbs-exporter', 'policy-sbom.cue');

    it('allows the CycloneDX attestation of the project module', async () => {
      assert.deepEqual(await evaluator.evaluate(source, pbsSbomStatement()), { allowed: true });
    });

    it('rejects an SBOM of another module, and a provenance statement', async () => {
      const other = await evaluator.evaluate(source, pbsSbomStatement('pkg:golang/github.com/evil/pbs-exporter@v0.9.0?type=module'));
      assert.equal(other.allowed, false);
      assert.match(other.message!, /predicate\.metadata\.component\."bom-ref"/);
      const provenance = await evaluator.evaluate(source, pbsProvenance());
      assert.equal(provenance.allowed, false);
      assert.match(provenance.message!, /predicateType/);
    });
  });

  describe('example-package policy against the real v2.1.0 container provenance', () => {
    const source = policy('example-package', 'policy.cue');

    it('allows the real statement', async () => {
      assert.deepEqual(await evaluator.evaluate(source, examplePackageStatement()), { allowed: true });
    });

    it('rejects the statement with its source changed, naming the field', async () => {
      const statement = examplePackageStatement();
      const predicate = statement.predicate as { invocation: { configSource: { uri: string } } };
      predicate.invocation.configSource.uri = 'git+https://github.com/slsa-framework/example-package@refs/heads/evil';
      const r = await evaluator.evaluate(source, statement);
      assert.equal(r.allowed, false);
      assert.match(r.message!, /predicate\.invocation\.configSource\.uri: conflicting values/);
      assert.throws(() => assertPolicyAllows(r, 'example-package policy.cue'), (err: unknown) => {
        assert.ok(err instanceof VerificationError);
        assert.equal(err.code, 'policy-violation');
        assert.equal(verdictFromError(err).status, 'fail');
        return true;
      });
    });
  });

  describe('errors', () => {
    it('reports a policy that does not parse or resolve as an evaluation error, not a violation', async () => {
      for (const broken of ['predicate: {\n  builder: id: "x"\n', 'predicate: builder: id: undefinedRef\n', 'a: 1\na: 2\n']) {
        await assert.rejects(evaluator.evaluate(broken, pbsProvenance()), (err: unknown) => {
          assert.ok(err instanceof VerificationError);
          assert.equal(err.code, 'policy-evaluation-error');
          assert.equal(verdictFromError(err).status, 'error');
          return true;
        });
      }
    });

    it('refuses a document that is not a JSON object, or too large', async () => {
      await assert.rejects(evaluator.evaluate('a: 1', [1, 2]), { code: 'statement-invalid' });
      await assert.rejects(evaluator.evaluate('a: 1', 'text'), { code: 'statement-invalid' });
      await assert.rejects(evaluator.evaluate('a: 1', { s: '\ud800' }), { code: 'statement-invalid' });
      const small = new CuePolicyEvaluator({ maxDocumentBytes: 100 });
      await assert.rejects(small.evaluate('a: 1', { s: 'x'.repeat(200) }), { code: 'input-too-large' });
      await small.close();
    });

    it('gives up with an evaluation error when the bound is exceeded', async () => {
      const impatient = new CuePolicyEvaluator({ timeoutMs: 1, startTimeoutMs: 1 });
      await assert.rejects(impatient.evaluate('a: 1', {}), { code: 'policy-evaluation-error' });
      await impatient.close();
    });

    it('accepts a policy with a package clause', async () => {
      const source = `package pbs\n\n${policy('pbs-exporter', 'policy.cue')}`;
      assert.equal((await evaluator.evaluate(source, pbsProvenance())).allowed, true);
      assert.equal((await evaluator.evaluate(source, pbsProvenance({ entryPoint: 'x.yml' }))).allowed, false);
    });
  });

  it('keeps no state between evaluations of the warm instance', async () => {
    const prov = policy('pbs-exporter', 'policy.cue');
    const sbom = policy('pbs-exporter', 'policy-sbom.cue');
    const cases: Array<[string, object, boolean]> = [
      [prov, pbsProvenance(), true],
      [prov, pbsProvenance({ uri: 'git+https://github.com/evil/x@refs/tags/v1.0.0' }), false],
      [sbom, pbsSbomStatement(), true],
      [sbom, pbsSbomStatement('pkg:golang/evil@v1.0.0?type=module'), false],
      [prov, pbsProvenanceV1(), false],
    ];
    const results = [];
    for (let round = 0; round < 6; round++) {
      // Vary the order so a pass follows a fail and the reverse.
      const order = round % 2 ? [...cases].reverse() : cases;
      for (const [source, doc, expected] of order) results.push([(await evaluator.evaluate(source, doc)).allowed, expected]);
    }
    for (const [got, expected] of results) assert.equal(got, expected);
    // Concurrent callers are serialised, and each gets its own answer.
    const parallel = await Promise.all(cases.map(([s, d]) => evaluator.evaluate(s, d)));
    assert.deepEqual(parallel.map((r) => r.allowed), cases.map((c) => c[2]));
  });

  it('keeps no state between evaluations when the restore is done ahead, in the pauses between them', async () => {
    const prov = policy('pbs-exporter', 'policy.cue');
    const cases: Array<[object, boolean]> = [
      [pbsProvenance(), true],
      [pbsProvenance({ entryPoint: '.github/workflows/evil.yml' }), false],
      [pbsProvenance({ uri: 'git+https://github.com/natrontech/pbs-exporter@refs/tags/v1.0.0-rc.1' }), true],
      [pbsProvenance({ builder: CONTAINER_BUILDER.replace('refs/tags/v2.0.0', 'refs/heads/main') }), false],
    ];
    for (let round = 0; round < 3; round++) {
      for (const [doc, expected] of round % 2 ? [...cases].reverse() : cases) {
        // Long enough for the worker to restore before the next request arrives.
        await new Promise((r) => setTimeout(r, 30));
        assert.equal((await evaluator.evaluate(prov, doc)).allowed, expected);
      }
    }
  });

  it("tells onEvaluated Go's own time of each evaluation that ran, and whether it was restored ahead", async () => {
    const seen: Array<{ goMs: number; restoredAhead: boolean }> = [];
    const observed = new CuePolicyEvaluator({ timeoutMs: 30_000, onEvaluated: (t) => seen.push(t) });
    try {
      const prov = policy('pbs-exporter', 'policy.cue');
      await observed.warmUp();
      seen.length = 0;
      const started = performance.now();
      assert.equal((await observed.evaluate(prov, pbsProvenance())).allowed, true);
      const latency = performance.now() - started;
      await new Promise((r) => setTimeout(r, 50));
      assert.equal((await observed.evaluate(prov, pbsProvenance({ entryPoint: 'x.yml' }))).allowed, false);
      await assert.rejects(observed.evaluate('a: 1', [1]), { code: 'statement-invalid' });
      assert.equal(seen.length, 2, 'one per evaluation that ran CUE; a refused document runs nothing');
      assert.ok(seen[0].goMs > 0 && seen[0].goMs <= latency, `Go's time ${seen[0].goMs} ms is part of the ${latency} ms the caller waited`);
      assert.equal(seen[1].restoredAhead, true, 'after a pause the snapshot was restored between evaluations');
    } finally {
      await observed.close();
    }
  });
});

describe('CueWasmEngine (the warm instance, in this thread)', () => {
  const files = (doc: object) => ({ [POLICY_FILE]: policy('pbs-exporter', 'policy.cue'), [STATEMENT_FILE]: `${JSON.stringify(doc, null, 1)}\n` });
  let engine: CueWasmEngine;
  before(async () => {
    engine = await CueWasmEngine.start(INVOCATIONS.check);
  });

  it('a run after restoreAhead starts from the snapshot: pass, fail, pass give pass, fail, pass', async () => {
    const verdicts: Array<[number, boolean | undefined]> = [];
    for (const doc of [pbsProvenance(), pbsProvenance({ uri: 'git+https://github.com/evil/x@refs/tags/v1.0.0' }), pbsProvenance()]) {
      engine.restoreAhead();
      const run = await engine.run(files(doc));
      verdicts.push([run.code, run.timings?.restoredAhead]);
    }
    assert.deepEqual(verdicts, [[0, true], [1, true], [0, true]]);
    // Without restoreAhead the run restores first, with the same answer.
    const run = await engine.run(files(pbsProvenance()));
    assert.deepEqual([run.code, run.timings?.restoredAhead], [0, false]);
  });

  it('refuses a second run while one is in progress, and restoreAhead then does nothing', async () => {
    const first = engine.run(files(pbsProvenance()));
    await assert.rejects(engine.run(files(pbsProvenance())), /already in progress/);
    engine.restoreAhead();
    assert.equal((await first).code, 0);
    // The interrupted-looking restoreAhead left nothing half done: the next run restores itself.
    const next = await engine.run(files(pbsProvenance({ entryPoint: '.github/workflows/evil.yml' })));
    assert.deepEqual([next.code, next.timings?.restoredAhead], [1, false]);
  });
});
