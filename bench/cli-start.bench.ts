/**
 * Wall time of whole `provwatch` processes, as a CI script runs them, against `node -e 0` (the
 * runtime's own start) in the same run: `--help`, `--version` and a local `verify-artifact` of
 * the real generator v2.1.0 provenance up to its PASSED line. Prints medians and ratios.
 * Run: npm run bench  (runs per case from BENCH_RUNS, default 15).
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { PUBLIC_GOOD_TRUSTED_ROOT, vector } from '../test/support/vectors';

const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const BIN = resolve(__dirname, '../../bin/provwatch.js');
const ARTIFACT = vector('slsa-github-generator', 'generic-v2.1.0', 'binary-linux-amd64-push-v14');

function medianMs(args: string[], expect: RegExp): number {
  const times: number[] = [];
  for (let i = 0; i < RUNS + 2; i++) {
    const start = process.hrtime.bigint();
    const run = spawnSync(process.execPath, args, { encoding: 'utf8' });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (!expect.test(run.stdout)) throw new Error(`${args.join(' ')}: unexpected output ${run.stdout}${run.stderr}`);
    if (i >= 2) times.push(ms); // the first two warm the page cache
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const baseline = medianMs(['-e', '0'], /^$/);
console.log(`${'node -e 0 (baseline)'.padEnd(34)} ${baseline.toFixed(1).padStart(7)} ms`);
const cases: Array<[string, string[], RegExp]> = [
  ['provwatch --help', [BIN, '--help'], /^usage: provwatch/],
  ['provwatch --version', [BIN, '--version'], /^provwatch /],
  [
    'provwatch verify-artifact (PASSED)',
    [BIN, 'verify-artifact', ARTIFACT, '--provenance-path', `${ARTIFACT}.intoto.jsonl`, '--source-uri', 'github.com/slsa-framework/example-package', '--source-tag', 'v14', '--trusted-root', PUBLIC_GOOD_TRUSTED_ROOT],
    /^PASSED: Verified SLSA provenance/,
  ],
];
for (const [name, args, expect] of cases) {
  const ms = medianMs(args, expect);
  console.log(`${name.padEnd(34)} ${ms.toFixed(1).padStart(7)} ms  ${(ms / baseline).toFixed(2)}x baseline`);
}
