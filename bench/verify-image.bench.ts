/**
 * Image verification against a real local docker-registry holding the container vector:
 * verify-image with the CUE policy, end to end (fetch evidence + verify), and the same
 * verification from evidence already fetched (the baseline in the same process); prints both
 * rates and their ratio, i.e. what the registry round trips cost.
 * Run: npm run build && node dist/bench/verify-image.bench.js  (BENCH_ITERATIONS, default 50).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ImageEvidenceCollector, OciRegistryClient } from '@provwatch/sources';
import { CuePolicyEvaluator, SigstoreTrustRoot, type StatementCheck, assertPolicyAllows, verifyImageProvenance } from '@provwatch/verification';
import { pushOciLayout, startRegistry } from '../test/support/registry';
import { PUBLIC_GOOD_TRUSTED_ROOT, vector } from '../test/support/vectors';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 50);

async function rate(name: string, fn: () => Promise<void>): Promise<number> {
  for (let i = 0; i < Math.min(5, ITERATIONS); i++) await fn();
  const start = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) await fn();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(`${name.padEnd(44)} ${(ITERATIONS / seconds).toFixed(1).padStart(8)} verifications/s  (${((seconds / ITERATIONS) * 1000).toFixed(1)} ms each)`);
  return ITERATIONS / seconds;
}

async function main(): Promise<void> {
  const registry = await startRegistry();
  const cue = new CuePolicyEvaluator();
  try {
    await pushOciLayout(registry.host, 'slsa/example-package', vector('slsa-github-generator', 'container-v2.1.0', 'container_workflow_dispatch'), 'main');
    const trustRoot = SigstoreTrustRoot.fromJSON(readFileSync(PUBLIC_GOOD_TRUSTED_ROOT));
    const policy = readFileSync(resolve(__dirname, '../../test/fixtures/policies/example-package/policy.cue'), 'utf8');
    const collector = new ImageEvidenceCollector(new OciRegistryClient({ insecureHosts: [registry.host] }));
    const extraCheck: StatementCheck = async (statement) => {
      assertPolicyAllows(await cue.evaluate(policy, statement), 'policy');
    };
    const expectations = { sourceUri: 'github.com/slsa-framework/example-package', sourceBranch: 'main' };
    const verify = async (evidence: Awaited<ReturnType<typeof collector.collect>>) => {
      const verdict = await verifyImageProvenance(evidence.attestations, evidence.digest, { trustRoot, expectations, extraCheck });
      if (verdict.status !== 'pass') throw new Error(`benchmark input did not verify: ${verdict.code}: ${verdict.message}`);
    };
    const fetched = await collector.collect({ image: `${registry.host}/slsa/example-package:main` });
    const local = await rate('verify only (evidence already fetched)', () => verify(fetched));
    const full = await rate('fetch from registry + verify + CUE policy', async () => verify(await collector.collect({ image: `${registry.host}/slsa/example-package:main` })));
    console.log(`ratio end-to-end / verify-only: ${(full / local).toFixed(2)}`);
  } finally {
    await cue.close();
    await registry.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
