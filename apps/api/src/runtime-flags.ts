/**
 * Node/V8 options the service process is started with: by `npm start` (scripts/start.mjs), the
 * image's CMD (Dockerfile; test/deploy checks it), the tests' and benches' service processes.
 * V8 reads them when the heap is set up, so they cannot be set from inside the process.
 *
 * --no-memory-reducer: V8's memory reducer starts a memory-reducing full collection when it
 * judges the allocation rate low. With the /metrics series built in their own thread the serving
 * thread allocates little, and the reducer started such collections under load: their final,
 * compacting pause held the event loop 58-87 ms (status-api bench, 4 runs of 6, --trace-gc and
 * --trace-incremental-marking: "Start (memory reducer)", then "Mark-Compact (reduce)"). Without
 * it, old-generation collections start when the heap reaches its limit, as before, and stay
 * incremental; an idle process returns less memory to the system.
 */
export const SERVICE_NODE_FLAGS: readonly string[] = ['--no-memory-reducer'];

/** The flags this process was started without (logged at start: an operator's own command line). */
export function missingServiceNodeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return SERVICE_NODE_FLAGS.filter((flag) => !execArgv.includes(flag));
}
