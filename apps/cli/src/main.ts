import { verdictFromAnyError } from '@provwatch/sources';
import type { Verdict } from '@provwatch/verification';
import { UsageError } from './cli.error';
import type { Command, CommandContext } from './commands/command';
import { closePolicyEvaluator } from './commands/statement-checks';
import { verifyArtifactCommand } from './commands/verify-artifact.command';
import { verifyBlobCommand, verifyChecksumsCommand } from './commands/verify-blob.command';
import { verifyBundleCommand } from './commands/verify-bundle.command';
import { verifyAttestationCommand } from './commands/verify-attestation.command';
import { verifyImageCommand } from './commands/verify-image.command';
import { verifyCommand } from './commands/verify.command';

export const COMMANDS: Command[] = [
  verifyArtifactCommand,
  verifyImageCommand,
  verifyBlobCommand,
  verifyChecksumsCommand,
  verifyBundleCommand,
  verifyCommand,
  verifyAttestationCommand,
];

export const EXIT_PASSED = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export interface CliIo {
  stdout(line: string): void;
  stderr(line: string): void;
  env: NodeJS.ProcessEnv;
}

function usage(): string {
  return ['usage: provwatch <command> [flags]', '', 'commands:', ...COMMANDS.map((c) => `  ${c.name.padEnd(20)} ${c.summary}`), '', 'provwatch <command> --help shows its flags.'].join('\n');
}

/**
 * Runs one command and returns the exit code: 0 PASSED, 1 FAILED (evidence wrong, missing, or
 * not checkable), 2 usage. Every verdict that is not `pass` exits 1: fail closed. Whatever the
 * arguments, the outcome is one of the three: usage errors print `error: <message>` and the usage,
 * anything else thrown becomes a verdict (`FAILED: <code>: <message>`), never a stack trace.
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout(usage());
    return EXIT_PASSED;
  }
  if (name === undefined || name === '') {
    io.stderr(`error: no command given\n${usage()}`);
    return EXIT_USAGE;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr(`error: unknown command ${JSON.stringify(name)}\n${usage()}`);
    return EXIT_USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(`usage: ${command.usage}`);
    return EXIT_PASSED;
  }
  const json = rest.includes('--json');
  const context: CommandContext = { warn: (m) => io.stderr(m), env: io.env };
  let verdict: Verdict;
  try {
    verdict = await command.run(rest, context);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`error: ${err.message}\nusage: ${command.usage}`);
      return EXIT_USAGE;
    }
    verdict = verdictFromAnyError(err);
  } finally {
    await closePolicyEvaluator().catch(() => undefined);
  }
  if (json) io.stdout(JSON.stringify(verdict, null, 2));
  if (verdict.status === 'pass') {
    if (!json) io.stdout(`PASSED: ${verdict.message}`);
    return EXIT_PASSED;
  }
  // FAILED goes to stderr with --json so stdout stays one JSON document.
  (json ? io.stderr : io.stdout)(`FAILED: ${verdict.code}: ${verdict.message}`);
  return EXIT_FAILED;
}

/** Once the verdict is out, the process ends within this even if a stalled read still holds it. */
const EXIT_GRACE_MS = 1000;

/**
 * Process entry: wires runCli to the real stdout, stderr, environment and exit code. A failure
 * outside any command (a bug, a stray rejection) is `FAILED: internal-error` with exit 1 and no
 * stack trace; a closed stdout (`provwatch ... | head -1`) is not an error.
 */
export function main(): void {
  const internal = (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    try {
      process.stderr.write(`FAILED: internal-error: unexpected error: ${message.split('\n')[0]}\n`);
    } catch {
      // stderr is gone too: the exit code still says it.
    }
    process.exit(EXIT_FAILED);
  };
  process.on('uncaughtException', internal);
  process.on('unhandledRejection', internal);
  const ignoreEpipe = (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') internal(err);
  };
  process.stdout.on('error', ignoreEpipe);
  process.stderr.on('error', ignoreEpipe);
  runCli(process.argv.slice(2), {
    stdout: (l) => process.stdout.write(`${l}\n`),
    stderr: (l) => process.stderr.write(`${l}\n`),
    env: process.env,
  }).then((code) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), EXIT_GRACE_MS).unref();
  }, internal);
}

if (require.main === module) main();
