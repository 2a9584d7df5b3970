#!/usr/bin/env node
// The one test command (README, .ci/run): type-check and build everything, then run every
// compiled *.test.js with node's own test runner. Arguments narrow the run to test files whose
// path contains one of them, e.g. `npm test -- conformance`.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
process.chdir(root);
process.env.TZ = 'UTC';

const generate = spawnSync(process.execPath, ['scripts/prisma-generate.mjs'], { stdio: 'inherit' });
if (generate.status !== 0) process.exit(generate.status ?? 1);
const build = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-b', 'tsconfig.build.json'], { stdio: 'inherit' });
if (build.status !== 0) {
  console.error('test: the TypeScript build failed');
  process.exit(build.status ?? 1);
}

function findTests(dir) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (name.endsWith('.test.js')) found.push(relative(root, path));
  }
  return found;
}

const filters = process.argv.slice(2);
const files = findTests('dist')
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('test: no test files matched');
  process.exit(1);
}
const run = spawnSync(process.execPath, ['--test', '--test-reporter=spec', ...files], { stdio: 'inherit', env: process.env });
process.exit(run.status ?? 1);
