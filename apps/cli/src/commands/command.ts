import type { Verdict } from '@provwatch/verification';
import type { FlagTable } from './parse-flags';

/** What a command needs from the outside world; tests swap stderr and env. */
export interface CommandContext {
  warn(message: string): void;
  env: NodeJS.ProcessEnv;
}

export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Every flag the command takes, exactly the table its run() parses with (tests enumerate it). */
  flags: FlagTable;
  /** Returns the verdict; throws UsageError for a bad invocation. */
  run(argv: string[], context: CommandContext): Promise<Verdict>;
}
