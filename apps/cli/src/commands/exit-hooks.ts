/**
 * Work to finish before the CLI process exits (a CUE evaluator's worker thread). A registry of
 * its own so the entry point can run the hooks without loading the modules that add them.
 */
const hooks: Array<() => Promise<void>> = [];

export function onCliExit(hook: () => Promise<void>): void {
  hooks.push(hook);
}

export async function runCliExitHooks(): Promise<void> {
  for (const hook of hooks.splice(0)) await hook().catch(() => undefined);
}
