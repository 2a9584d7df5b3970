import { createHash } from 'node:crypto';
import { type FSWatcher, type StatsListener, readFileSync, statSync, unwatchFile, watch, watchFile } from 'node:fs';
import { basename, dirname } from 'node:path';
import { ConfigError, type ConfigProblem, formatProblem } from './config.error';
import { loadWatchlistFile } from './watchlist.loader';
import type { Watchlist } from './watchlist.schema';

/** What one reload did: `ok` (a new watchlist is in use), `unchanged`, or `invalid` (refused). */
export interface WatchlistReloadOutcome {
  result: 'ok' | 'unchanged' | 'invalid';
  /** What asked for it: `SIGHUP`, `file changed`, a test... */
  why: string;
  /** The problems of a refused file, each located (`file:line`) as at start. */
  problems: ConfigProblem[];
  added: string[];
  removed: string[];
  changed: string[];
}

export type WatchlistChangeListener = (next: Watchlist, previous: Watchlist) => void | Promise<void>;

export interface WatchlistSourceOptions {
  /** Warnings: refused reloads (one line per problem), a file watch that could not start. */
  warn?: (message: string) => void;
  /** One line per reload that changed something. */
  info?: (message: string) => void;
  /** Quiet time after the last file event before the file is read (editors write in steps). Default 300 ms. */
  debounceMs?: number;
  /** Stat interval of the fallback when the directory cannot be watched. Default 5 s. */
  pollFallbackMs?: number;
  /**
   * Reads and validates the file (tests replace it); default loadWatchlistFile. It is not called
   * while the file's bytes and its policies' are those of the watchlist in use.
   */
  load?: (path: string) => Watchlist;
}

/**
 * The watchlist in use, and the only way it changes while the process runs. A reload re-reads
 * and validates the file exactly as the start does; a file that fails validation is refused and
 * the watchlist in use stays: a typo in a live edit must never stop every check (fail safe,
 * not open: nothing is unwatched by it, nothing new is trusted). Consumers read `current()` at
 * use, or derive from it with `derived()`, and changes are pushed to `onChange` listeners.
 */
export class WatchlistSource {
  private watchlist: Watchlist;
  private digest: string;
  /** SHA-256 of the bytes the watchlist in use was parsed from (undefined: unknown, parse again). */
  private inputs: string | undefined;
  private loadedAtMs: number;
  private refused = false;
  private readonly changeListeners = new Set<WatchlistChangeListener>();
  private readonly reloadListeners = new Set<(outcome: WatchlistReloadOutcome) => void>();
  private watcher: FSWatcher | undefined;
  private polling: StatsListener | undefined;
  private debounce: NodeJS.Timeout | undefined;
  private closed = false;

  private constructor(
    readonly path: string,
    initial: Watchlist,
    inputs: string | undefined,
    private readonly options: WatchlistSourceOptions,
  ) {
    this.watchlist = initial;
    this.digest = watchlistDigest(initial);
    this.inputs = inputs;
    this.loadedAtMs = Date.now();
  }

  /** Loads the file; throws ConfigError (every problem with its line) when it is not valid. */
  static open(path: string, options: WatchlistSourceOptions = {}): WatchlistSource {
    // The file is fingerprinted before the parse (a write in between leaves an older fingerprint,
    // so the next look parses again: never a fingerprint of bytes that were not parsed), and each
    // policy by the text the parse validated.
    const file = fileDigest(path);
    const initial = (options.load ?? loadWatchlistFile)(path);
    return new WatchlistSource(path, initial, file === undefined ? undefined : inputsFingerprint(file, policySources(initial)), options);
  }

  current(): Watchlist {
    return this.watchlist;
  }

  /** SHA-256 of the validated watchlist in use (policy sources included). */
  get contentHash(): string {
    return this.digest;
  }

  /** When the watchlist in use was loaded (ms since the epoch). */
  get loadedAt(): number {
    return this.loadedAtMs;
  }

  /**
   * A value computed from the current watchlist, recomputed only after a change (a Map by
   * name, a sorted list): consumers keep their lookups cheap and never see a stale watchlist.
   */
  derived<T>(compute: (watchlist: Watchlist) => T): () => T {
    let from: Watchlist | undefined;
    let value: T;
    return () => {
      if (from !== this.watchlist) {
        value = compute(this.watchlist);
        from = this.watchlist;
      }
      return value;
    };
  }

  /** Whether the last reload refused the file: what is on disk is not what runs. */
  get lastReloadRefused(): boolean {
    return this.refused;
  }

  /** Called after each accepted change with the new and the previous watchlist; returns an unsubscribe. */
  onChange(listener: WatchlistChangeListener): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Called after every reload, whatever its result (metrics). */
  onReload(listener: (outcome: WatchlistReloadOutcome) => void): () => void {
    this.reloadListeners.add(listener);
    return () => this.reloadListeners.delete(listener);
  }

  /** Re-reads and validates the file; a valid, different one replaces the watchlist in use. */
  reload(why: string): WatchlistReloadOutcome {
    // The same bytes as the watchlist in use (its policy files included) are the same watchlist:
    // no parse. At 10,000 targets a parse holds the event loop for about a second.
    const file = fileDigest(this.path);
    const inputs = this.currentInputs(file);
    if (inputs !== undefined && inputs === this.inputs) return this.report({ result: 'unchanged', why, problems: [], added: [], removed: [], changed: [] });
    let next: Watchlist;
    try {
      next = (this.options.load ?? loadWatchlistFile)(this.path);
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems : [{ source: this.path, field: '(file)', message: (err as Error).message }];
      for (const problem of problems) this.options.warn?.(`watchlist not reloaded (${why}), the previous one stays in use: ${formatProblem(problem).trim()}`);
      return this.report({ result: 'invalid', why, problems, added: [], removed: [], changed: [] });
    }
    const digest = watchlistDigest(next);
    // Policy paths come from what was parsed; the watchlist file's part was read before the parse.
    const parsedInputs = file === undefined ? undefined : inputsFingerprint(file, policySources(next));
    if (digest === this.digest) {
      this.inputs = parsedInputs;
      return this.report({ result: 'unchanged', why, problems: [], added: [], removed: [], changed: [] });
    }
    const previous = this.watchlist;
    const outcome: WatchlistReloadOutcome = { result: 'ok', why, problems: [], ...compareTargets(previous, next) };
    this.watchlist = next;
    this.digest = digest;
    this.inputs = parsedInputs;
    this.loadedAtMs = Date.now();
    const list = (names: string[]) => (names.length > 0 ? names.join(', ') : 'none');
    this.options.info?.(`watchlist reloaded (${why}): ${next.targets.length} target(s); added ${list(outcome.added)}; removed ${list(outcome.removed)}; changed ${list(outcome.changed)}`);
    for (const name of [...outcome.added, ...outcome.changed]) {
      for (const warning of next.targets.find((t) => t.name === name)?.warnings ?? []) this.options.warn?.(warning);
    }
    for (const listener of this.changeListeners) {
      // A listener that fails (the worker's Redis down) is reported; the others still run.
      void Promise.resolve()
        .then(() => listener(next, previous))
        .catch((err: Error) => this.options.warn?.(`watchlist change not applied everywhere: ${err.message}`));
    }
    return this.report(outcome);
  }

  /**
   * Reloads when the file changes. The directory is watched, not the file: editors replace a
   * file by renaming a new one over it, and a Kubernetes ConfigMap swaps its `..data` symlink,
   * and a watch on the old file would see neither. Any event in the directory (a policy file
   * beside it included) schedules one debounced reload; identical content is a no-op. Where
   * the directory cannot be watched (no inotify left, a network file system), the file is
   * stat-polled instead.
   */
  watch(): void {
    if (this.closed || this.watcher || this.polling) return;
    const dir = dirname(this.path);
    try {
      this.watcher = watch(dir, { persistent: false }, (_event, name) => {
        if (this.concerns(name)) this.schedule();
      });
      this.watcher.on('error', (err) => {
        this.options.warn?.(`watchlist directory ${dir} no longer watched (${err.message}); checking ${this.path} every ${Math.round(this.pollMs / 1000)} s instead`);
        this.watcher?.close();
        this.watcher = undefined;
        this.pollFile();
      });
    } catch (err) {
      this.options.warn?.(`cannot watch the watchlist directory ${dir} (${(err as Error).message}); checking ${basename(this.path)} every ${Math.round(this.pollMs / 1000)} s instead (SIGHUP reloads at once)`);
      this.pollFile();
    }
    this.catchUp();
  }

  /**
   * A change between the start's read and the watch (a ConfigMap updated while Nest started) has
   * no event: the file is compared once, and reloaded only when it differs (so a normal start
   * counts no reload).
   */
  private catchUp(): void {
    const inputs = this.currentInputs(fileDigest(this.path));
    if (inputs !== undefined && inputs === this.inputs) return;
    let differs: boolean;
    try {
      differs = watchlistDigest((this.options.load ?? loadWatchlistFile)(this.path)) !== this.digest;
    } catch {
      differs = true;
    }
    if (differs) this.reload('changed during start');
  }

  /**
   * The fingerprint of the files as they are now, with the policy paths of the watchlist in use
   * (the same watchlist file names the same policies). Undefined when a file cannot be read.
   */
  private currentInputs(file: string | undefined): string | undefined {
    if (file === undefined) return undefined;
    const policies = new Map<string, string>();
    for (const path of policySources(this.watchlist).keys()) {
      const bytes = readRegularFile(path);
      if (bytes === undefined) return undefined;
      policies.set(path, bytes.toString('utf8'));
    }
    return inputsFingerprint(file, policies);
  }

  /**
   * Whether a directory event may concern the watchlist: the file itself, a Kubernetes ConfigMap's
   * `..data` swap (`..`-prefixed entries), a CUE policy (a refused file may name one not yet in
   * use), or an event without a name. Anything else (a log file written beside the watchlist) is
   * ignored: every such write restarted the debounce, so a busy neighbour postponed a real
   * reload for as long as it kept writing.
   */
  private concerns(name: string | Buffer | null): boolean {
    if (name === null) return true;
    const entry = name.toString();
    return entry === basename(this.path) || entry.startsWith('..') || entry.endsWith('.cue');
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.debounce);
    this.watcher?.close();
    this.watcher = undefined;
    if (this.polling) unwatchFile(this.path, this.polling);
    this.polling = undefined;
    this.changeListeners.clear();
    this.reloadListeners.clear();
  }

  private get pollMs(): number {
    return this.options.pollFallbackMs ?? 5000;
  }

  private pollFile(): void {
    if (this.closed) return;
    this.polling = (cur, prev) => {
      if (cur.mtimeMs !== prev.mtimeMs || cur.ino !== prev.ino || cur.size !== prev.size) this.schedule();
    };
    watchFile(this.path, { persistent: false, interval: this.pollMs }, this.polling);
  }

  private schedule(): void {
    if (this.closed) return;
    clearTimeout(this.debounce);
    this.debounce = setTimeout(() => {
      if (!this.closed) this.reload('file changed');
    }, this.options.debounceMs ?? 300);
    this.debounce.unref();
  }

  private report(outcome: WatchlistReloadOutcome): WatchlistReloadOutcome {
    this.refused = outcome.result === 'invalid';
    for (const listener of this.reloadListeners) {
      try {
        listener(outcome);
      } catch {
        // A metrics listener must not break a reload.
      }
    }
    return outcome;
  }
}

const MAX_FINGERPRINTED_BYTES = 16 * 1024 * 1024;

/**
 * SHA-256 of a file's bytes as they are now, read through symlinks as the loader reads; undefined
 * when it cannot be read as a regular file within the loader's bound (the loader then decides,
 * and reports why).
 */
function fileDigest(path: string): string | undefined {
  const bytes = readRegularFile(path);
  return bytes === undefined ? undefined : createHash('sha256').update(bytes).digest('hex');
}

function readRegularFile(path: string): Buffer | undefined {
  try {
    // Stat first: a FIFO would block, as in the loader.
    const info = statSync(path);
    if (!info.isFile() || info.size > MAX_FINGERPRINTED_BYTES) return undefined;
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/** The policy files a watchlist names, each with the text it was validated with. */
function policySources(watchlist: Watchlist): Map<string, string> {
  const sources = new Map<string, string>();
  for (const target of watchlist.targets) {
    for (const image of target.images) {
      for (const policy of [image.provenancePolicy, image.sbomPolicy]) if (policy) sources.set(policy.path, policy.source);
    }
  }
  return sources;
}

/** Fingerprint of the watchlist file (its digest) and of each policy's path and text. */
function inputsFingerprint(file: string, policies: ReadonlyMap<string, string>): string {
  const hash = createHash('sha256').update(file);
  for (const path of [...policies.keys()].sort()) {
    const text = policies.get(path)!;
    hash.update(`\0${path}\0${Buffer.byteLength(text)}\0`).update(text);
  }
  return hash.digest('hex');
}

/** Digest of a validated watchlist; `warnings` are derived from the rest. */
function watchlistDigest(watchlist: Watchlist): string {
  return createHash('sha256')
    .update(JSON.stringify({ defaults: watchlist.defaults, targets: watchlist.targets.map((t) => ({ ...t, warnings: undefined })) }))
    .digest('hex');
}

function compareTargets(previous: Watchlist, next: Watchlist): { added: string[]; removed: string[]; changed: string[] } {
  const before = new Map(previous.targets.map((t) => [t.name, JSON.stringify({ ...t, warnings: undefined })]));
  const after = new Map(next.targets.map((t) => [t.name, JSON.stringify({ ...t, warnings: undefined })]));
  return {
    added: [...after.keys()].filter((n) => !before.has(n)),
    removed: [...before.keys()].filter((n) => !after.has(n)),
    changed: [...after.keys()].filter((n) => before.has(n) && before.get(n) !== after.get(n)),
  };
}
