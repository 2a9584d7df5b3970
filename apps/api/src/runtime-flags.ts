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
 *
 * --v8-pool-size=1: one V8 platform thread instead of Node's fixed four. They are the helpers of
 * every isolate in the process (concurrent marking, parallel scavenges, background compiles), and
 * they run at the process's priority: the series and deflate threads run at nice 10, their
 * collections did not. On a 2-core VM (bench/metrics-scrape at 10,000 targets, perf sched) a
 * collection of the series thread's heap ran on three of them for ~19 ms, on both cores, while
 * the serving thread waited runnable for one (0.3 ms of its CPU in a 19.7 ms stall). With one,
 * V8's background work holds at most one core; a parallel scavenge is joined by the thread that
 * started it, which does the work the busy helper does not. V8's own platform sizes its pool at
 * the number of cores less one; Node's four assume more cores than a small instance has.
 */
export const SERVICE_NODE_FLAGS: readonly string[] = ['--no-memory-reducer', '--v8-pool-size=1'];

/** The flags this process was started without (logged at start: an operator's own command line). */
export function missingServiceNodeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return SERVICE_NODE_FLAGS.filter((flag) => !execArgv.includes(flag));
}
