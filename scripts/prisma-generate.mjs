#!/usr/bin/env node
// Generates the Prisma client (libs/persistence/src/generated, git-ignored) from prisma/schema.prisma.
// Prisma's CLI downloads its schema engine before `generate` even though generate does not use it;
// offline that fails, so point it at any executable (DESIGN.md, facts about this environment).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const root = new URL('..', import.meta.url).pathname;
const env = { ...process.env };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) env.PRISMA_SCHEMA_ENGINE_BINARY = existsSync('/bin/true') ? '/bin/true' : process.execPath;
const result = spawnSync(process.execPath, ['node_modules/prisma/build/index.js', 'generate'], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'], env });
if (result.status !== 0) {
  console.error('prisma generate failed');
  process.exit(result.status ?? 1);
}
