import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { SERVICE_NODE_FLAGS, missingServiceNodeFlags } from './runtime-flags';

test('the service flags are ones this Node accepts, and a process started without them says which', () => {
  // An unknown V8 flag stops node at start: the image and npm start would not run.
  const run = spawnSync(process.execPath, [...SERVICE_NODE_FLAGS, '-e', 'process.stdout.write(JSON.stringify(process.execArgv))'], { encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.deepEqual(missingServiceNodeFlags(JSON.parse(run.stdout) as string[]), []);
  assert.deepEqual(missingServiceNodeFlags([]), [...SERVICE_NODE_FLAGS]);
  assert.deepEqual(missingServiceNodeFlags(['--no-memory-reducer-for-small-heaps']), ['--no-memory-reducer']);
});
