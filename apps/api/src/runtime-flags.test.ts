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
  assert.deepEqual(missingServiceNodeFlags(['--no-memory-reducer-for-small-heaps', '--v8-pool-size=1']), ['--no-memory-reducer']);
  assert.deepEqual(missingServiceNodeFlags(['--no-memory-reducer', '--v8-pool-size=4']), ['--v8-pool-size=1']);
});

// Linux names V8's platform threads V8Worker (/proc/<pid>/task/<tid>/comm): the flag must leave
// one, or the series and deflate threads' collections take every core again.
test('a process started with the service flags has one V8 platform thread (Node alone has several)', { skip: process.platform !== 'linux' }, () => {
  const platformThreads = (flags: readonly string[]) => {
    const script = "const fs = require('node:fs'); process.stdout.write(String(fs.readdirSync('/proc/self/task').filter((t) => fs.readFileSync('/proc/self/task/' + t + '/comm', 'utf8').trim() === 'V8Worker').length))";
    const run = spawnSync(process.execPath, [...flags, '-e', script], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    return Number(run.stdout);
  };
  assert.equal(platformThreads(SERVICE_NODE_FLAGS), 1);
  assert.ok(platformThreads([]) > 1);
});
