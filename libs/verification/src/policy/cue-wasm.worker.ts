import { parentPort, workerData } from 'node:worker_threads';
import { CueWasmEngine, type CueRun } from './cue-wasm.engine';
import { INVOCATIONS, WORKER_MARK, type CueJob, type CueWorkerRequest, type CueWorkerResponse } from './cue-wasm.protocol';

const data = workerData as { [WORKER_MARK]?: boolean; reuseInstance?: boolean } | undefined;
const port = data?.[WORKER_MARK] ? parentPort : null;
if (port) {
  const reuse = data?.reuseInstance ?? true;
  const engines = new Map<CueJob, Promise<CueWasmEngine>>();
  port.on('message', (req: CueWorkerRequest) => {
    void (async () => {
      try {
        let run: CueRun;
        if (reuse) {
          let engine = engines.get(req.job);
          if (!engine) {
            engine = CueWasmEngine.start(INVOCATIONS[req.job]);
            engines.set(req.job, engine);
          }
          run = await (await engine).run(req.files);
        } else {
          run = await CueWasmEngine.runCold(INVOCATIONS[req.job].args, req.files);
        }
        port.postMessage({ id: req.id, run } satisfies CueWorkerResponse);
        // The restore the next run would start with, done now, off the next caller's path.
        if (reuse) {
          const engine = await engines.get(req.job);
          setImmediate(() => engine?.restoreAhead());
        }
      } catch (err) {
        engines.delete(req.job);
        port.postMessage({ id: req.id, error: err instanceof Error ? err.message : String(err) } satisfies CueWorkerResponse);
      }
    })();
  });
}
