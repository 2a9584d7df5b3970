import type { Verdict } from '@provwatch/verification';
import type { FlagTable } from './flag-tables';

/** What a command needs from the outside world; tests swap stderr, stdout and env. */
export interface CommandContext {
  warn(message: string): void;
  /** Extra output a flag asked for (--print-provenance), written after the result lines. */
  print?(text: string): void;
  env: NodeJS.ProcessEnv;
}

/** Runs a command; throws UsageError for a bad invocation. */
export type CommandRun = (argv: string[], context: CommandContext) => Promise<Verdict>;

/**
 * A command as `--help` and the parser see it: plain data. `load` brings in the implementation
 * (and with it the sigstore, OCI and CUE libraries) only for the command actually run.
 */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  /** Every flag the command takes, exactly the table its run() parses with (tests enumerate it). */
  flags: FlagTable;
  /** Shown under `--help`; each a complete command line. */
  examples: string[];
  /**
   * The first line on success, as the tool this command replaces prints it, so scripts that look
   * for it keep working: slsa-verifier's `PASSED: Verified SLSA provenance`, cosign's `Verified OK`.
   */
  passLine: string;
  load(): CommandRun;
}
