import { strict as assert } from 'node:assert';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { bundleFromCosignLayer, exactly, verifyBundle } from '@provwatch/verification';
import { DIFFERENTIAL, SIGNATURE_LAYER_DIFFERENTIAL, matchesId } from './known-gaps';
import { fieldMutations } from './json-mutations';
import { KitContext, certificateMutations, trustRootMutations } from './kit-seeds';
import { Prng, seedOf } from './prng';
import { GITHUB_ISSUER, type Outcome, type Seed, bareConformance, bareVerify, checkConformance, conformanceCases, conformanceSeeds, cosignSeed, outcomeOf, trustRootFile } from './seeds';
import { PUBLIC_GOOD_TRUSTED_ROOT, vector } from '../support/vectors';

/**
 * The differential (issue 13 item 3): provwatch's own certificate-chain code (fulcio-chain.ts,
 * with the trust root's side of each chain cached) against bare @sigstore/verify with the same
 * trust material, on every sigstore-conformance case, every real vector in test/vectors, the
 * kit-signed certificate and trust-root mutations, and every bundle-field mutation (round 0) of
 * every seed both can check. Both answer pass/fail; a disagreement fails the test unless an entry
 * of DIFFERENTIAL (shared with the mutation suite) or SIGNATURE_LAYER_DIFFERENTIAL says why
 * provwatch is right. provwatch is compared at the signature layer (verifyBundle / verify-bundle):
 * statement and SLSA checks are provwatch's alone and have nothing to be compared with.
 *
 * The ids are the mutation suite's (`conformance/...`, `bundle-fields/<seed>/<field>/<op>`,
 * `certificates/...`, `trust-root/...`) so one DIFFERENTIAL entry explains both.
 */
const SEED = Number(process.env.PROVWATCH_MUTATION_SEED ?? 20261201);
const GENERATOR_IDENTITY = 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v2.1.0';
const CONTAINER_IDENTITY = 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.1.0';

interface Comparison {
  id: string;
  provwatch: Outcome;
  bare: boolean;
}

const comparisons: Comparison[] = [];
function compare(id: string, provwatch: () => Outcome, bare: () => boolean): void {
  comparisons.push({ id, provwatch: provwatch(), bare: bare() });
}

/** verify-bundle's signature layer with an exact signer: provwatch's answer as an Outcome. */
function provwatchBundle(rootPath: string, input: unknown, identity: string, loggedEnvelope?: Buffer): Outcome {
  return outcomeOf(() => {
    verifyBundle(input as object, { trustRoot: trustRootFile(rootPath), identity: { subject: exactly(identity), issuer: exactly(GITHUB_ISSUER) }, loggedEnvelope });
    return { status: 'pass', code: 'verified', message: 'ok', evidence: {} };
  });
}

function json(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** The real bundles of test/vectors (besides the conformance suite), each with the signer it must have. */
function vectorSeeds(): Seed[] {
  const seeds: Seed[] = [];
  const generic = vector('slsa-github-generator', 'generic-v2.1.0');
  for (const file of readdirSync(generic).filter((f) => f.endsWith('.intoto.jsonl')).sort()) {
    seeds.push(signatureLayerSeed(`generator-v2.1.0:${file.replace(/\.intoto\.jsonl$/, '')}`, json(join(generic, file)), GENERATOR_IDENTITY));
  }
  const slsaVerifier = vector('slsa-verifier-bundles');
  for (const file of readdirSync(slsaVerifier).sort()) {
    // slsa-verifier's own test bundles were signed by the generator at main, not at a release tag
    seeds.push(signatureLayerSeed(`slsa-verifier-bundles:${file}`, json(join(slsaVerifier, file)), GENERATOR_IDENTITY.replace('@refs/tags/v2.1.0', '@refs/heads/main')));
  }
  return [...seeds, ...cosignSeed()];
}

function signatureLayerSeed(name: string, document: unknown, identity: string): Seed {
  return {
    name,
    kind: 'dsse-bundle',
    document,
    check: (input) => provwatchBundle(PUBLIC_GOOD_TRUSTED_ROOT, input, identity),
    bare: (input) => bareVerify(json(PUBLIC_GOOD_TRUSTED_ROOT), input, { identity, issuer: GITHUB_ISSUER }),
  };
}

/** The container vector's cosign attestation layer (an OCI layout), as provwatch reads it from a registry. */
function containerAttestation(): { bundle: Record<string, unknown>; blob: Buffer } {
  const layout = vector('slsa-github-generator', 'container-v2.1.0', 'container_workflow_dispatch');
  const blob = (digest: string) => readFileSync(join(layout, 'blobs', ...digest.split(':')));
  const index = json(join(layout, 'index.json')) as { manifests: Array<{ digest: string; annotations?: Record<string, string> }> };
  const att = index.manifests.find((m) => m.annotations?.kind === 'dev.cosignproject.cosign/atts');
  assert.ok(att, 'the layout has a cosign attestation manifest');
  const manifest = JSON.parse(blob(att.digest).toString('utf8')) as { layers: Array<{ mediaType: string; digest: string; annotations: Record<string, string> }> };
  const layer = manifest.layers[0];
  const bytes = blob(layer.digest);
  return { bundle: bundleFromCosignLayer({ ...layer, blob: bytes }), blob: bytes };
}

let kit: KitContext;
let seeds: Seed[] = [];

before(async () => {
  kit = await KitContext.create();
  seeds = [...conformanceSeeds(), ...vectorSeeds(), ...(await kit.seeds()).filter((s) => s.bare)];
});

describe('differential: provwatch against bare @sigstore/verify, same trust material', () => {
  test('every sigstore-conformance case', () => {
    const cases = conformanceCases();
    assert.ok(cases.length >= 20, `only ${cases.length} conformance cases`);
    for (const c of cases) {
      const bytes = readFileSync(join(c.dir, 'bundle.sigstore.json'), 'utf8');
      compare(`conformance/${c.name}`, () => checkConformance(c, bytes), () => bareConformance(c, bytes));
    }
  });

  test('every real vector, unmutated: both verify the genuine ones, both reject the broken ones', () => {
    for (const seed of vectorSeeds()) compare(`vectors/${seed.name}`, () => seed.check(seed.document), () => seed.bare!(seed.document));
    const container = containerAttestation();
    compare(
      'vectors/container-v2.1.0:attestation',
      () => provwatchBundle(PUBLIC_GOOD_TRUSTED_ROOT, container.bundle, CONTAINER_IDENTITY, container.blob),
      () => bareVerify(json(PUBLIC_GOOD_TRUSTED_ROOT), container.bundle, { identity: CONTAINER_IDENTITY, issuer: GITHUB_ISSUER }),
    );
    const byId = new Map(comparisons.map((c) => [c.id, c]));
    for (const genuine of ['generator-v2.1.0:binary-linux-amd64-push-v14', 'generator-v2.1.0:binary-linux-amd64-workflow_dispatch', 'slsa-verifier-bundles:valid-v0.3.intoto.sigstore', 'container-v2.1.0:attestation']) {
      const c = byId.get(`vectors/${genuine}`);
      assert.equal(c?.provwatch.status, 'pass', `${genuine}: ${c?.provwatch.code}: ${c?.provwatch.message}`);
    }
    for (const broken of ['invalid-dsse-sig', 'invalid-set', 'mismatch-tlog']) {
      const c = byId.get(`vectors/slsa-verifier-bundles:${broken}.intoto.sigstore`);
      assert.ok(c && c.provwatch.status !== 'pass' && !c.bare, `${broken}: both must reject`);
    }
  });

  test('kit-signed certificates and trust roots (validity windows, foreign CA, SCTs, CA windows)', async () => {
    for (const [category, list] of [['certificates', certificateMutations()], ['trust-root', trustRootMutations()]] as const) {
      for (const mu of list) {
        const { outcome, bare } = await mu.run(kit);
        assert.notEqual(bare, undefined, `${category}/${mu.name} has a bare sigstore-js answer`);
        comparisons.push({ id: `${category}/${mu.name}`, provwatch: outcome, bare: bare! });
      }
    }
  });

  test('every bundle-field mutation (round 0) of every seed both can check', () => {
    let count = 0;
    for (const seed of seeds) {
      if (!seed.bare) continue;
      const prng = new Prng(seedOf(seed.name, SEED));
      for (const mu of fieldMutations(seed.document, prng, 0)) {
        const mutated = mu.apply(seed.document);
        compare(`bundle-fields/${seed.name}/${mu.name}`, () => seed.check(JSON.stringify(mutated) ?? 'null'), () => seed.bare!(mutated));
        count++;
      }
    }
    assert.ok(count >= 1000, `only ${count} field mutations compared`);
  });

  test('report: every disagreement is explained', () => {
    const explained = [...DIFFERENTIAL, ...SIGNATURE_LAYER_DIFFERENTIAL];
    const unexplained: string[] = [];
    const seen = new Set<string>();
    let disagreements = 0;
    for (const c of comparisons) {
      if (c.provwatch.status === 'crash') unexplained.push(`${c.id}: provwatch crashed: ${c.provwatch.message.slice(0, 200)}`);
      const provwatch = c.provwatch.status === 'pass';
      if (provwatch === c.bare) continue;
      disagreements++;
      const entry = explained.find((d) => matchesId(d.id, c.id));
      if (entry) seen.add(entry.id);
      else unexplained.push(`${c.id}: provwatch ${provwatch ? 'accepts' : `rejects (${c.provwatch.code}: ${c.provwatch.message.slice(0, 160)})`}, sigstore-js ${c.bare ? 'accepts' : 'rejects'}`);
    }
    for (const c of comparisons.filter((x) => x.id.startsWith('vectors/'))) console.log(`  ${c.id}: provwatch ${c.provwatch.status} ${c.provwatch.code}, sigstore-js ${c.bare ? 'pass' : 'fail'}`);
    console.log(`differential: ${comparisons.length} compared with bare @sigstore/verify, ${disagreements} disagreements, all explained: ${unexplained.length === 0}`);
    // Entries written for this test must still happen (the shared DIFFERENTIAL is checked for staleness by the mutation suite).
    const stale = SIGNATURE_LAYER_DIFFERENTIAL.filter((d) => !seen.has(d.id)).map((d) => d.id);
    assert.deepEqual({ unexplained, stale }, { unexplained: [], stale: [] });
  });
});
