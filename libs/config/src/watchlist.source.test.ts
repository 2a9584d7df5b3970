import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ConfigError } from './config.error';
import { loadWatchlistFile } from './watchlist.loader';
import { type WatchlistReloadOutcome, WatchlistSource } from './watchlist.source';
import type { Watchlist } from './watchlist.schema';
import { exampleWatchlistYaml, invalidAtLine7WatchlistYaml } from '../../../test/support/watch-targets';

const yaml = (names: string[], pollInterval = '5m') => exampleWatchlistYaml(names, pollInterval);
/** Line 7: `issuer` misspelt, an unknown key. */
const INVALID_AT_LINE_7 = invalidAtLine7WatchlistYaml('alpha', '5m');

function workspace(): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'provwatch-reload-'));
  return { dir, file: join(dir, 'provwatch.yaml') };
}

/** Replaces the file as editors and `kubectl cp` do: a new file renamed over the old one. */
function replaceByRename(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

async function until(what: string, probe: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const names = (w: Watchlist) => w.targets.map((t) => t.name);

describe('WatchlistSource', () => {
  test('open refuses an invalid file with every problem located, as at start', () => {
    const { file } = workspace();
    writeFileSync(file, INVALID_AT_LINE_7);
    assert.throws(() => WatchlistSource.open(file), (err: unknown) => err instanceof ConfigError && err.problems.some((p) => p.line === 7));
  });

  test('a valid, different file replaces the watchlist; listeners get the new and the previous one', async () => {
    const { file } = workspace();
    writeFileSync(file, yaml(['alpha', 'beta']));
    const source = WatchlistSource.open(file);
    const seen: Array<[string[], string[]]> = [];
    source.onChange((next, previous) => void seen.push([names(next), names(previous)]));
    const loadedBefore = source.loadedAt;
    const hashBefore = source.contentHash;
    await new Promise((r) => setTimeout(r, 5));
    writeFileSync(file, yaml(['beta', 'gamma'], '10m'));
    const outcome = source.reload('test');
    assert.deepEqual({ result: outcome.result, added: outcome.added, removed: outcome.removed, changed: outcome.changed }, { result: 'ok', added: ['gamma'], removed: ['alpha'], changed: ['beta'] });
    assert.deepEqual(names(source.current()), ['beta', 'gamma']);
    assert.ok(source.loadedAt > loadedBefore);
    assert.notEqual(source.contentHash, hashBefore);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(seen, [[['beta', 'gamma'], ['alpha', 'beta']]]);
  });

  test('identical content (even rewritten, reformatted) does nothing: no listener, same load time', async () => {
    const { file } = workspace();
    writeFileSync(file, yaml(['alpha']));
    const source = WatchlistSource.open(file);
    let changes = 0;
    source.onChange(() => void changes++);
    const before = source.current();
    const loadedAt = source.loadedAt;
    writeFileSync(file, `# a comment only\n${yaml(['alpha'])}\n\n`);
    assert.equal(source.reload('test').result, 'unchanged');
    await new Promise((r) => setImmediate(r));
    assert.equal(changes, 0);
    assert.equal(source.current(), before);
    assert.equal(source.loadedAt, loadedAt);
  });

  test('an invalid file is refused: the old watchlist stays, one warning per problem names file and line', async () => {
    const { file } = workspace();
    writeFileSync(file, yaml(['alpha']));
    const warnings: string[] = [];
    const source = WatchlistSource.open(file, { warn: (m) => warnings.push(m) });
    const outcomes: WatchlistReloadOutcome[] = [];
    source.onReload((o) => outcomes.push(o));
    let changes = 0;
    source.onChange(() => void changes++);
    const before = source.current();
    writeFileSync(file, INVALID_AT_LINE_7);
    const outcome = source.reload('SIGHUP');
    assert.equal(outcome.result, 'invalid');
    assert.equal(source.lastReloadRefused, true);
    assert.equal(source.current(), before);
    assert.equal(changes, 0);
    assert.deepEqual(outcomes.map((o) => o.result), ['invalid']);
    assert.ok(warnings.length >= 1);
    assert.ok(
      warnings.some((w) => w.includes(`${file}:7:`) && w.includes('targets[0].identity.isuer') && w.includes('the previous one stays in use')),
      warnings.join('\n'),
    );
    // A missing file is refused the same way.
    writeFileSync(file, '');
    assert.equal(source.reload('SIGHUP').result, 'invalid');
    assert.equal(source.current(), before);
    // Fixed (back to the content in use): nothing to change, but no longer refused.
    writeFileSync(file, yaml(['alpha']));
    assert.equal(source.reload('SIGHUP').result, 'unchanged');
    assert.equal(source.lastReloadRefused, false);
  });

  test('a changed policy file is a changed target, even with the watchlist file untouched', () => {
    const { dir, file } = workspace();
    writeFileSync(join(dir, 'policy.cue'), 'predicateType: "https://slsa.dev/provenance/v0.2"\n');
    writeFileSync(
      file,
      `${yaml(['alpha'])}    images:
      - ref: ghcr.io/example/alpha
        provenance_policy: policy.cue
`,
    );
    const source = WatchlistSource.open(file);
    assert.equal(source.reload('test').result, 'unchanged');
    writeFileSync(join(dir, 'policy.cue'), 'predicateType: "https://slsa.dev/provenance/v1"\n');
    const outcome = source.reload('test');
    assert.deepEqual([outcome.result, outcome.changed], ['ok', ['alpha']]);
    assert.match(source.current().targets[0].images[0].provenancePolicy!.source, /provenance\/v1/);
  });

  test('derived values follow reloads and are computed once per watchlist', () => {
    const { file } = workspace();
    writeFileSync(file, yaml(['alpha']));
    const source = WatchlistSource.open(file);
    let computed = 0;
    const byName = source.derived((w) => (computed++, new Set(names(w))));
    assert.ok(byName().has('alpha'));
    byName();
    assert.equal(computed, 1);
    writeFileSync(file, yaml(['alpha', 'beta']));
    source.reload('test');
    assert.ok(byName().has('beta'));
    assert.equal(computed, 2);
  });

  test('file watch: a rename over the file reloads once, after the writes settle (debounce)', async () => {
    const { file } = workspace();
    writeFileSync(file, yaml(['alpha']));
    const outcomes: WatchlistReloadOutcome[] = [];
    const source = WatchlistSource.open(file, { debounceMs: 150 });
    source.onReload((o) => outcomes.push(o));
    source.watch();
    try {
      // Three saves in quick succession (an editor's temp file, backup, rename): one reload.
      replaceByRename(file, yaml(['alpha', 'beta']));
      replaceByRename(file, yaml(['alpha', 'gamma']));
      replaceByRename(file, yaml(['alpha', 'delta']));
      await until('the reload', () => outcomes.length > 0);
      await new Promise((r) => setTimeout(r, 400));
      assert.deepEqual(outcomes.map((o) => [o.result, o.why]), [['ok', 'file changed']]);
      assert.deepEqual(names(source.current()), ['alpha', 'delta']);
      // A second edit after the first was read is seen too (the watch survived the rename).
      replaceByRename(file, yaml(['delta']));
      await until('the second reload', () => outcomes.length > 1);
      assert.deepEqual(names(source.current()), ['delta']);
    } finally {
      source.close();
    }
  });

  test('file watch: a Kubernetes ConfigMap update (the ..data symlink swapped) reloads', async () => {
    const { dir, file } = workspace();
    // The layout the kubelet writes: versioned folder, ..data -> it, file -> ..data/file.
    mkdirSync(join(dir, '..2026_12_02_01_00_00.1'));
    writeFileSync(join(dir, '..2026_12_02_01_00_00.1', 'provwatch.yaml'), yaml(['alpha']));
    symlinkSync('..2026_12_02_01_00_00.1', join(dir, '..data'));
    symlinkSync('..data/provwatch.yaml', file);
    const source = WatchlistSource.open(file, { debounceMs: 100 });
    source.watch();
    try {
      assert.deepEqual(names(source.current()), ['alpha']);
      mkdirSync(join(dir, '..2026_12_02_01_05_00.2'));
      writeFileSync(join(dir, '..2026_12_02_01_05_00.2', 'provwatch.yaml'), yaml(['alpha', 'beta']));
      symlinkSync('..2026_12_02_01_05_00.2', join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
      await until('the ConfigMap swap to be read', () => names(source.current()).includes('beta'));
    } finally {
      source.close();
    }
  });

  test('a directory that cannot be watched falls back to checking the file', async () => {
    const base = mkdtempSync(join(tmpdir(), 'provwatch-reload-'));
    const dir = join(base, 'not-yet');
    const file = join(dir, 'provwatch.yaml');
    const initial = join(base, 'initial.yaml');
    writeFileSync(initial, yaml(['alpha']));
    const warnings: string[] = [];
    // The directory does not exist yet, so fs.watch on it fails; the first load reads another file.
    const source = WatchlistSource.open(file, {
      warn: (m) => warnings.push(m),
      debounceMs: 20,
      pollFallbackMs: 50,
      load: (path) => loadWatchlistFile(existsSync(path) ? path : initial),
    });
    source.watch();
    try {
      assert.ok(warnings.some((w) => /cannot watch the watchlist directory/.test(w)), warnings.join('\n'));
      // After the first stat (its baseline is "absent"), else the file is its baseline.
      await new Promise((r) => setTimeout(r, 300));
      mkdirSync(dir);
      writeFileSync(file, yaml(['alpha', 'beta']));
      await until('the polled file to be read', () => names(source.current()).includes('beta'));
    } finally {
      source.close();
    }
  });

  test('a change before the watch started is caught up when it starts; an unchanged file counts no reload', () => {
    const { file } = workspace();
    writeFileSync(file, yaml(['alpha']));
    const quiet = WatchlistSource.open(file);
    const outcomes: string[] = [];
    quiet.onReload((o) => outcomes.push(o.result));
    quiet.watch();
    quiet.close();
    assert.deepEqual(outcomes, []);
    const late = WatchlistSource.open(file);
    writeFileSync(file, yaml(['alpha', 'beta']));
    late.watch();
    try {
      assert.deepEqual(names(late.current()), ['alpha', 'beta']);
    } finally {
      late.close();
    }
  });

  test('close stops watching: later edits are not read', async () => {
    const { file } = workspace();
    writeFileSync(file, yaml(['alpha']));
    const source = WatchlistSource.open(file, { debounceMs: 20 });
    source.watch();
    source.close();
    replaceByRename(file, yaml(['beta']));
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(names(source.current()), ['alpha']);
  });

  test('the same bytes are not parsed again (a parse of 10,000 targets holds the loop ~1 s); other bytes are', () => {
    const { dir, file } = workspace();
    writeFileSync(join(dir, 'policy.cue'), 'predicateType: "https://slsa.dev/provenance/v0.2"\n');
    const withPolicy = (names: string[]) => `${yaml(names)}    images:\n      - ref: ghcr.io/example/alpha\n        provenance_policy: policy.cue\n`;
    writeFileSync(file, withPolicy(['alpha']));
    let parses = 0;
    const source = WatchlistSource.open(file, { load: (path) => (parses++, loadWatchlistFile(path)) });
    assert.equal(parses, 1);
    source.watch();
    source.close();
    // The start's catch-up and a SIGHUP with nothing changed: no parse.
    assert.equal(source.reload('SIGHUP').result, 'unchanged');
    assert.equal(parses, 1);
    // Rewritten with the same bytes: still no parse.
    writeFileSync(file, withPolicy(['alpha']));
    assert.equal(source.reload('file changed').result, 'unchanged');
    assert.equal(parses, 1);
    // Other bytes, same watchlist (a comment): parsed once, unchanged, and not again after.
    writeFileSync(file, `# reviewed\n${withPolicy(['alpha'])}`);
    assert.equal(source.reload('file changed').result, 'unchanged');
    assert.equal(parses, 2);
    assert.equal(source.reload('file changed').result, 'unchanged');
    assert.equal(parses, 2);
    // The policy file alone changes: parsed, and the new policy is in use.
    writeFileSync(join(dir, 'policy.cue'), 'predicateType: "https://slsa.dev/provenance/v1"\n');
    assert.equal(source.reload('file changed').result, 'ok');
    assert.equal(parses, 3);
    assert.match(source.current().targets[0].images[0].provenancePolicy!.source, /provenance\/v1/);
    // A policy that can no longer be read is not "the same": parsed, refused, the old one stays.
    writeFileSync(join(dir, 'policy.cue'), '');
    assert.equal(source.reload('file changed').result, 'invalid');
    assert.equal(parses, 4);
    assert.match(source.current().targets[0].images[0].provenancePolicy!.source, /provenance\/v1/);
  });

  test('file watch: writes to other files beside the watchlist neither parse it nor postpone a real change', async () => {
    const { dir, file } = workspace();
    writeFileSync(file, yaml(['alpha']));
    let parses = 0;
    const outcomes: WatchlistReloadOutcome[] = [];
    const source = WatchlistSource.open(file, { debounceMs: 100, load: (path) => (parses++, loadWatchlistFile(path)) });
    source.onReload((o) => outcomes.push(o));
    source.watch();
    // A log file beside the watchlist, written every 20 ms (more often than the debounce).
    const log = join(dir, 'provwatch.log');
    let lines = 0;
    const writer = setInterval(() => writeFileSync(log, `line ${++lines}\n`, { flag: 'a' }), 20);
    try {
      await new Promise((r) => setTimeout(r, 400));
      assert.equal(parses, 1, 'a neighbour\'s writes caused a parse');
      assert.deepEqual(outcomes, []);
      replaceByRename(file, yaml(['alpha', 'beta']));
      // Read within the debounce although the log keeps being written.
      await until('the change to be read while the log is written', () => names(source.current()).includes('beta'), 2000);
      assert.ok(lines > 10);
    } finally {
      clearInterval(writer);
      source.close();
    }
  });

  test('a refused file that names a policy not yet written is read again when the policy appears', async () => {
    const { dir, file } = workspace();
    writeFileSync(file, yaml(['alpha']));
    const source = WatchlistSource.open(file, { debounceMs: 50, warn: () => undefined });
    source.watch();
    try {
      replaceByRename(file, `${yaml(['alpha'])}    images:\n      - ref: ghcr.io/example/alpha\n        provenance_policy: later.cue\n`);
      await until('the refusal', () => source.lastReloadRefused);
      writeFileSync(join(dir, 'later.cue'), 'predicateType: "https://slsa.dev/provenance/v1"\n');
      await until('the policy to be read', () => source.current().targets[0].images.length === 1);
      assert.equal(source.lastReloadRefused, false);
    } finally {
      source.close();
    }
  });
});
