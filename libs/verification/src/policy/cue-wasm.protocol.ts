import type { CueInvocation, CueRun } from './cue-wasm.engine';

/** Which `cue` command a request runs; the file names are fixed because argv is part of the snapshot. */
export type CueJob = 'check' | 'compile';

export const POLICY_FILE = '/policy.cue';
export const STATEMENT_FILE = '/statement.cue';

// `check` is `cue vet -c policy.cue statement.cue`: the statement as CUE source (JSON is CUE) makes
// the same unification as a .json data file (CUE's JSON decoder is its own parser), -c demands the
// concreteness that vet's data-file mode demands, and it skips the per-call file-type evaluation
// that a .json argument costs (~20 ms). `compile` is `cue vet policy.cue`: does the policy alone build.
export const INVOCATIONS: Record<CueJob, CueInvocation> = {
  check: { args: ['vet', '-c', POLICY_FILE, STATEMENT_FILE], snapshotAt: POLICY_FILE },
  compile: { args: ['vet', POLICY_FILE], snapshotAt: POLICY_FILE },
};

export interface CueWorkerRequest {
  id: number;
  job: CueJob;
  files: Record<string, string>;
}

export type CueWorkerResponse = { id: number; run: CueRun } | { id: number; error: string };

/** Marks the worker threads we start, so that importing this module elsewhere does nothing. */
export const WORKER_MARK = 'provwatchCueWorker';
