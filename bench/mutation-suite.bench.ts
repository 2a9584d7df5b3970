import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/**
 * The long mutation run (issue 9): the adversarial suite with PROVWATCH_MUTATIONS bundle-field
 * mutations (default here 50,000; every one also through bare @sigstore/verify), for a nightly
 * job or by hand after `npm run build`:
 *   PROVWATCH_MUTATIONS=50000 node dist/bench/mutation-suite.bench.js
 * Prints the per-category table; exits non-zero on a finding not in test/adversarial/known-gaps.ts.
 */
const suite = join(__dirname, '..', 'test', 'adversarial', 'mutation-suite.test.js');
const run = spawnSync(process.execPath, ['--test', '--test-reporter=spec', suite], {
  stdio: 'inherit',
  env: { ...process.env, PROVWATCH_MUTATIONS: process.env.PROVWATCH_MUTATIONS ?? '50000' },
});
process.exit(run.status ?? 1);
