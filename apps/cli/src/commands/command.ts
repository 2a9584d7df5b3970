import type { Verdict } from '@provwatch/verification';

/** What a command needs from the outside world; tests swap stderr and env. */
export interface CommandContext {
  warn(message: string): void;
  env: NodeJS.ProcessEnv;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Returns the verdict; throws UsageError for a bad invocation. */
  run(argv: string[], context: CommandContext): Promise<Verdict>;
}
