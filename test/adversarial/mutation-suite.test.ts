import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DIFFERENTIAL, type GapKind, KNOWN_GAPS, matchesId } from './known-gaps';
import { type Expectation, fieldMutations } from './json-mutations';
import { hostileJson } from './hostile-json';
import { KitContext, certificateMutations, slsaMutations, statementMutations, trustRootMutations } from './kit-seeds';
import { Prng, seedOf } from './prng';
import { type Outcome, type Seed, bareConformance, checkConformance, conformanceCases, conformanceSeeds, cosignSeed, generatorSeeds } from './seeds';
import { PUBLIC_GOOD_TRUSTED_ROOT } from '../support/vectors';

/**
 * The adversarial mutation suite (issue 9, items 2 and 3).
 *
 * Seeds: every sigstore-conformance bundle-verify case that verifies, the real slsa-github-generator
 * v2.1.0 provenance bundles, cosign's OCI attestation bundle, and kit-signed evidence (message
 * signatures and DSSE bundles v0.1/v0.2/v0.3 with dsse/0.0.1 and intoto/0.0.2 entries, SLSA
 * v0.2 and delegated v1 provenance). Categories: bundle-fields (every field of every seed),
 * hostile-json (bytes), statement, slsa-claims, certificates (kit re-signs, so only the claim is
 * wrong), trust-root (validity windows), non-regular-files and cli-sample (the real CLI process).
 *
 * Each mutation carries its expectation, decided from the mutation alone (json-mutations.ts lists
 * the fields treated as irrelevant): `reject` must never pass, `accept` must pass, `any` may do
 * either. No crash (an exception out of the library, `internal-error`, or a raw JavaScript message),
 * every run inside a time bound. Findings must be listed in known-gaps.ts; an unlisted one fails.
 * The differential part verifies the conformance cases and the mutations again with bare
 * @sigstore/verify and fails on a disagreement not explained in DIFFERENTIAL.
 *
 * Deterministic: fixed seed (PROVWATCH_MUTATION_SEED, default 20261201), own PRNG. Bounded: by
 * default 1,500 bundle-field mutations (half of them also through bare sigstore-js), ~750
 * hostile-JSON documents, ~150 kit-signed claim mutations and ~30 CLI runs. Long mode:
 *   PROVWATCH_MUTATIONS=50000 scripts/with-node24.sh npm test -- adversarial
 * or `node dist/bench/mutation-suite.bench.js` after a build (same env variable; it prints the
 * per-category table). Stale KNOWN_GAPS entries are only enforced in the default mode.
 */
const SEED = Number(process.env.PROVWATCH_MUTATION_SEED ?? 20261201);
const DEFAULT_BUDGET = 1500;
const BUDGET = Number(process.env.PROVWATCH_MUTATIONS ?? DEFAULT_BUDGET);
const DEFAULT_MODE = BUDGET === DEFAULT_BUDGET && SEED === 20261201;
const CLI_SAMPLE = Math.max(40, Math.min(300, Math.floor(BUDGET / 40)));
/** In-process bound per verification; generous for 2 loaded cores, still catches a hang or a blow-up. */
const IN_PROCESS_BOUND_MS = 5_000;
const CLI_BOUND_MS = 30_000;
const NON_REGULAR_BOUND_MS = 10_000;

type Category = 'bundle-fields' | 'hostile-json' | 'statement' | 'slsa-claims' | 'certificates' | 'trust-root' | 'conformance' | 'cli-sample' | 'non-regular-files';

interface Result {
  category: Category;
  id: string;
  expect: Expectation;
  outcome: Outcome;
  ms: number;
  bare?: boolean;
}

const results: Result[] = [];
const RAW_JS = /\b(Cannot read propert|is not a function|is not iterable|undefined is not|Unexpected token|at Object\.|at [A-Za-z]+ \(\/|TypeError|RangeError|ReferenceError|Maximum call stack)/;

function findingsOf(r: Result): GapKind[] {
  const kinds: GapKind[] = [];
  if (r.expect === 'reject' && r.outcome.status === 'pass') kinds.push('false-pass');
  if (r.expect === 'accept' && r.outcome.status !== 'pass') kinds.push('false-fail');
  if (r.outcome.status === 'crash' || r.outcome.code === 'internal-error') kinds.push('crash');
  else if (RAW_JS.test(r.outcome.message)) kinds.push('raw-message');
  if (r.ms > (r.category === 'cli-sample' ? CLI_BOUND_MS : r.category === 'non-regular-files' ? NON_REGULAR_BOUND_MS : IN_PROCESS_BOUND_MS)) kinds.push('hang');
  return kinds;
}

function record(category: Category, id: string, expect: Expectation, run: () => Outcome, bare?: () => boolean): void {
  const t0 = performance.now();
  const outcome = run();
  const ms = performance.now() - t0;
  results.push({ category, id, expect, outcome, ms, bare: bare?.() });
}

function seedInput(seed: Seed, text: string | Buffer): unknown {
  // Blob bundles go to the library as bytes (as the CLI reads them); provenance as the file.
  return seed.kind === 'provenance' ? Buffer.from(text) : text;
}

let kit: KitContext;
let seeds: Seed[] = [];
const scratch = mkdtempSync(join(tmpdir(), 'provwatch-mutations-'));
let fileNo = 0;
function scratchFile(name: string, content: string | Buffer): string {
  const dir = join(scratch, String(++fileNo));
  mkdirSync(dir);
  writeFileSync(join(dir, name), content);
  return join(dir, name);
}

before(async () => {
  kit = await KitContext.create();
  seeds = [...conformanceSeeds(), ...generatorSeeds(), ...cosignSeed(), ...(await kit.seeds())];
});

describe('adversarial mutation suite', () => {
  test('every seed verifies unmutated (the controls), in-process and with bare sigstore-js where it applies', () => {
    assert.ok(seeds.length >= 25, `expected the conformance, generator, cosign and kit seeds, got ${seeds.length}`);
    assert.ok(seeds.some((s) => s.name === 'cosign:oci-attestation'), 'the cosign OCI attestation seed verifies');
    for (const seed of seeds) {
      const outcome = seed.check(seedInput(seed, JSON.stringify(seed.document)));
      assert.equal(outcome.status, 'pass', `${seed.name}: ${outcome.code}: ${outcome.message}`);
    }
  });

  test('conformance cases: provwatch and bare sigstore-js', () => {
    for (const c of conformanceCases()) {
      const bytes = readFileSync(join(c.dir, 'bundle.sigstore.json'), 'utf8');
      record('conformance', `conformance/${c.name}`, c.expectPass ? 'accept' : 'reject', () => checkConformance(c, bytes), () => bareConformance(c, bytes));
    }
  });

  test('bundle fields: every field of every seed', () => {
    const all: Array<{ seed: Seed; id: string; expect: Expectation; apply: (d: unknown) => unknown }> = [];
    const rounds = Math.max(1, Math.ceil(BUDGET / 6000));
    for (const seed of seeds) {
      const prng = new Prng(seedOf(seed.name, SEED));
      for (let round = 0; round < rounds; round++) {
        for (const mu of fieldMutations(seed.document, prng, round)) all.push({ seed, id: `bundle-fields/${seed.name}/${mu.name}`, expect: mu.expect, apply: mu.apply });
      }
    }
    const chosen = new Prng(SEED).sample(all, BUDGET).sort((a, b) => (a.id < b.id ? -1 : 1));
    chosen.forEach((m, i) => {
      const mutated = m.apply(m.seed.document);
      const text = JSON.stringify(mutated) ?? 'null';
      // The differential takes as long again: every other mutation by default, all in long mode.
      const bare = m.seed.bare && (i % 2 === 0 || !DEFAULT_MODE) ? () => m.seed.bare!(mutated) : undefined;
      record('bundle-fields', m.id, m.expect, () => m.seed.check(seedInput(m.seed, text)), bare);
    });
    assert.ok(chosen.length >= Math.min(BUDGET, 1500), `only ${chosen.length} field mutations generated`);
  });

  test('hostile JSON: bytes of every seed', () => {
    for (const seed of seeds) {
      const prng = new Prng(seedOf(`hostile:${seed.name}`, SEED));
      const original = JSON.stringify(seed.document);
      for (const mu of hostileJson(prng, Math.max(2, Math.floor(BUDGET / 1500)), hasPromise(seed))) {
        const bytes = mu.bytes(original);
        record('hostile-json', `hostile-json/${seed.name}/${mu.name}`, mu.expect, () => seed.check(seedInput(seed, bytes)));
      }
    }
  });

  for (const [category, list] of [
    ['statement', statementMutations()],
    ['certificates', certificateMutations()],
    ['slsa-claims', slsaMutations()],
    ['trust-root', trustRootMutations()],
  ] as const) {
    test(`${category}: kit re-signs, only the claim is wrong`, async () => {
      for (const mu of list) {
        const t0 = performance.now();
        let outcome: Outcome;
        let bare: boolean | undefined;
        try {
          ({ outcome, bare } = await mu.run(kit));
        } catch (err) {
          outcome = { status: 'crash', code: 'thrown', message: String((err as Error)?.stack ?? err) };
        }
        results.push({ category, id: `${category}/${mu.name}`, expect: mu.expect, outcome, ms: performance.now() - t0, bare });
      }
    });
  }

  test('rekor v2 trust roots with odd tlog validity (conformance rekor2-happy-path)', () => {
    const c = conformanceCases().find((x) => x.name === 'rekor2-happy-path');
    assert.ok(c, 'rekor2-happy-path present');
    const root = JSON.parse(readFileSync(c.trustedRootPath, 'utf8'));
    const bundle = readFileSync(join(c.dir, 'bundle.sigstore.json'), 'utf8');
    const edits: Array<[string, (r: any) => void]> = [
      ['tlog-start-in-future', (r) => r.tlogs.forEach((t: any) => (t.publicKey.validFor.start = '2099-01-01T00:00:00Z'))],
      ['tlog-end-before-start', (r) => r.tlogs.forEach((t: any) => (t.publicKey.validFor = { start: '2099-01-01T00:00:00Z', end: '2000-01-01T00:00:00Z' }))],
      ['tlog-ended-in-2000', (r) => r.tlogs.forEach((t: any) => (t.publicKey.validFor = { start: '1999-01-01T00:00:00Z', end: '2000-01-01T00:00:00Z' }))],
    ];
    for (const [name, edit] of edits) {
      const json = structuredClone(root);
      edit(json);
      const path = scratchFile('trusted_root.json', JSON.stringify(json));
      const mutated = { ...c, trustedRootPath: path };
      record('trust-root', `trust-root/rekor2-happy-path/${name}`, 'reject', () => checkConformance(mutated, bundle), () => bareConformance(mutated, bundle));
    }
  });

  test('cli sample: mutated bundles through the real CLI process', async () => {
    const candidates = results.filter((r) => r.category === 'bundle-fields' || r.category === 'hostile-json');
    const picked = new Prng(SEED ^ 0x5a5a).sample(candidates, CLI_SAMPLE).sort((a, b) => (a.id < b.id ? -1 : 1));
    const jobs = picked.map((r) => {
      const [category, seedName, ...rest] = r.id.split('/');
      const seed = seeds.find((s) => s.name === seedName)!;
      if (!seed.cli) return undefined;
      const bytes = regenerate(category, seed, rest.join('/'));
      if (bytes === undefined) return undefined;
      const path = scratchFile(seed.kind === 'provenance' ? 'provenance.intoto.jsonl' : 'bundle.sigstore.json', bytes);
      return { id: `cli-sample/${r.id}`, expect: r.expect, args: seed.cli.args(path) };
    }).filter((j): j is NonNullable<typeof j> => j !== undefined);
    for (const job of await runPool(jobs, 2, CLI_BOUND_MS)) results.push({ category: 'cli-sample', ...job });
    assert.ok(jobs.length >= 20, `only ${jobs.length} CLI runs`);
  });

  test('non-regular files given to CLI file flags (FIFO, directory, /dev/zero)', async () => {
    const fifo = join(scratch, 'fifo');
    spawnSync('mkfifo', [fifo]);
    const kinds: Array<[string, string]> = [['fifo', fifo], ['directory', scratch], ['dev-zero', '/dev/zero']];
    const v = generatorSeeds()[0].cli!.args('PROVENANCE');
    const b = conformanceSeeds().find((s) => s.name === 'conformance:happy-path-v0.3')!.cli!.args('BUNDLE');
    const jobs = [];
    for (const [kind, path] of kinds) {
      jobs.push({ id: `non-regular-files/verify-bundle--bundle/${kind}`, expect: 'reject' as const, args: b.map((a) => (a === 'BUNDLE' ? path : a)) });
      jobs.push({ id: `non-regular-files/verify-bundle--trusted-root/${kind}`, expect: 'reject' as const, args: withFlag(b.map((a) => (a === 'BUNDLE' ? conformanceBundle() : a)), '--trusted-root', path) });
      jobs.push({ id: `non-regular-files/verify-artifact--provenance-path/${kind}`, expect: 'reject' as const, args: v.map((a) => (a === 'PROVENANCE' ? path : a)) });
      jobs.push({ id: `non-regular-files/verify-bundle-artifact/${kind}`, expect: 'reject' as const, args: [...b.slice(0, -1).map((a) => (a === 'BUNDLE' ? conformanceBundle() : a)), path] });
    }
    for (const job of await runPool(jobs, 4, NON_REGULAR_BOUND_MS)) results.push({ category: 'non-regular-files', ...job });
  });

  test('report: per category counts, findings against KNOWN_GAPS, differential against DIFFERENTIAL', () => {
    printTable();
    const unlisted: string[] = [];
    const seen = new Set<string>();
    for (const r of results) {
      for (const kind of findingsOf(r)) {
        const gap = KNOWN_GAPS.find((g) => g.kind === kind && matchesId(g.id, r.id));
        if (gap) seen.add(`${gap.kind} ${gap.id}`);
        else unlisted.push(`${kind} ${r.id} [${r.expect}] -> ${r.outcome.status} ${r.outcome.code}: ${r.outcome.message.slice(0, 200)} (${Math.round(r.ms)} ms)`);
      }
    }
    const disagreements: string[] = [];
    const seenDiff = new Set<string>();
    for (const r of results) {
      if (r.bare === undefined) continue;
      const provwatch = r.outcome.status === 'pass';
      if (provwatch === r.bare) continue;
      const entry = DIFFERENTIAL.find((d) => matchesId(d.id, r.id));
      if (entry) seenDiff.add(entry.id);
      else disagreements.push(`${r.id}: provwatch ${provwatch ? 'accepts' : `rejects (${r.outcome.code}: ${r.outcome.message.slice(0, 160)})`}, sigstore-js ${r.bare ? 'accepts' : 'rejects'}`);
    }
    if (process.env.PROVWATCH_MUTATION_REPORT) {
      writeFileSync(process.env.PROVWATCH_MUTATION_REPORT, JSON.stringify({ unlisted, disagreements, results: results.map((r) => ({ ...r, findings: findingsOf(r) })) }, null, 1));
    }
    const stale = DEFAULT_MODE
      ? [...KNOWN_GAPS.filter((g) => !g.longOnly && !seen.has(`${g.kind} ${g.id}`)).map((g) => `KNOWN_GAPS ${g.kind} ${g.id}`), ...DIFFERENTIAL.filter((d) => !seenDiff.has(d.id)).map((d) => `DIFFERENTIAL ${d.id}`)]
      : [];
    assert.deepEqual({ unlisted, disagreements, stale }, { unlisted: [], disagreements: [], stale: [] });
  });
});

after(() => {
  spawnSync('rm', ['-rf', scratch]);
});

function hasPromise(seed: Seed): boolean {
  return ((seed.document as any)?.verificationMaterial?.tlogEntries ?? []).some((e: any) => e?.inclusionPromise !== undefined);
}

function conformanceBundle(): string {
  return conformanceSeeds().find((s) => s.name === 'conformance:happy-path-v0.3')!.cli!.args('X')[2];
}

function withFlag(args: string[], flag: string, value: string): string[] {
  const i = args.indexOf(flag);
  return i < 0 ? [...args.slice(0, 1), flag, value, ...args.slice(1)] : [...args.slice(0, i + 1), value, ...args.slice(i + 2)];
}

/** Rebuilds the bytes of a recorded in-process mutation for the CLI run (same seed, same PRNG draws). */
function regenerate(category: string, seed: Seed, name: string): string | Buffer | undefined {
  if (category === 'bundle-fields') {
    const prng = new Prng(seedOf(seed.name, SEED));
    const rounds = Math.max(1, Math.ceil(BUDGET / 6000));
    for (let round = 0; round < rounds; round++) {
      const mu = fieldMutations(seed.document, prng, round).find((x) => x.name === name);
      if (mu) return JSON.stringify(mu.apply(seed.document)) ?? 'null';
    }
    return undefined;
  }
  const prng = new Prng(seedOf(`hostile:${seed.name}`, SEED));
  return hostileJson(prng, Math.max(2, Math.floor(BUDGET / 1500)), hasPromise(seed)).find((x) => x.name === name)?.bytes(JSON.stringify(seed.document));
}

const CLI = resolve(__dirname, '../../../bin/provwatch.js');

/** Runs CLI processes, `width` at a time, each killed after `bound` ms; the exit code, output and time of each. */
async function runPool(jobs: Array<{ id: string; expect: Expectation; args: string[] }>, width: number, bound: number) {
  const out: Array<{ id: string; expect: Expectation; outcome: Outcome; ms: number }> = [];
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      out.push({ id: job.id, expect: job.expect, ...(await runCliProcess(job.args, bound)) });
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  return out.sort((a, b) => (a.id < b.id ? -1 : 1));
}

function runCliProcess(args: string[], bound: number): Promise<{ outcome: Outcome; ms: number }> {
  return new Promise((done) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PROVWATCH_TUF_MIRROR_URL: 'http://127.0.0.1:9' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, bound);
    child.on('close', (code) => {
      clearTimeout(timer);
      const ms = killed ? bound + 1 : performance.now() - t0;
      const text = `${stdout}\n${stderr}`;
      const failed = /^FAILED: ([a-z0-9-]+): /m.exec(stdout + stderr);
      let outcome: Outcome;
      if (killed) outcome = { status: 'error', code: 'killed', message: `no exit within ${bound} ms` };
      else if (code === 0) outcome = { status: 'pass', code: 'exit-0', message: stdout.trim() };
      else if (code === 1 || code === 2) outcome = { status: 'fail', code: failed?.[1] ?? (code === 2 ? 'usage' : 'exit-1'), message: text.trim() };
      else outcome = { status: 'crash', code: `exit-${code}`, message: text.trim() };
      if (!killed && /internal error|\n\s+at .*:\d+:\d+\)?/.test(text)) outcome = { status: 'crash', code: 'stack-trace', message: text.trim() };
      done({ outcome, ms });
    });
  });
}

function printTable(): void {
  const rows = new Map<string, { run: number; rejected: number; passed: number; byCode: Map<string, number> }>();
  for (const r of results) {
    const row = rows.get(r.category) ?? { run: 0, rejected: 0, passed: 0, byCode: new Map() };
    row.run++;
    if (r.outcome.status === 'pass') row.passed++;
    else row.rejected++;
    row.byCode.set(r.outcome.code, (row.byCode.get(r.outcome.code) ?? 0) + 1);
    rows.set(r.category, row);
  }
  const lines = [`mutation suite (seed ${SEED}, budget ${BUDGET}):`, 'category            run  rejected  passed  by reason code'];
  for (const [category, row] of rows) {
    const codes = [...row.byCode].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c}=${n}`).join(' ');
    lines.push(`${category.padEnd(18)} ${String(row.run).padStart(5)} ${String(row.rejected).padStart(9)} ${String(row.passed).padStart(7)}  ${codes}`);
  }
  const disagreements = results.filter((r) => r.bare !== undefined && (r.outcome.status === 'pass') !== r.bare).length;
  lines.push(`differential: ${results.filter((r) => r.bare !== undefined).length} compared with bare @sigstore/verify, ${disagreements} disagreements`);
  console.log(lines.join('\n'));
}

export { PUBLIC_GOOD_TRUSTED_ROOT };
