import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Verdict } from '@provwatch/verification';
import { UsageError } from './cli.error';
import { COMMANDS } from './commands/catalog';
import type { Command, CommandContext } from './commands/command';
import { runCliExitHooks } from './commands/exit-hooks';
import { FLAG_HELP } from './commands/flag-help';

export { COMMANDS };

export const EXIT_PASSED = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export interface CliIo {
  stdout(line: string): void;
  stderr(line: string): void;
  env: NodeJS.ProcessEnv;
}

function usage(): string {
  return [
    'usage: provwatch <command> [flags]',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(24)} ${c.summary}`),
    '',
    'provwatch <command> --help shows its flags and examples; provwatch --version its version.',
    'Exit codes: 0 verified, 1 not verified (wrong, missing or not checkable evidence), 2 usage error.',
  ].join('\n');
}

/** `<command> --help`: the usage line, then every flag of its table with what it means, then examples. */
export function commandHelp(command: Command): string {
  const flags = Object.entries(command.flags)
    .map(([name, spec]) => {
      const help = FLAG_HELP[name];
      const short = 'short' in spec && spec.short ? `-${spec.short}, ` : '';
      const left = `${short}--${name}${help?.value ? ` ${help.value}` : ''}`;
      const repeat = spec.multiple ? ' (repeatable)' : '';
      return `  ${left.padEnd(38)} ${help?.text ?? ''}${repeat}`;
    })
    .sort();
  return [`usage: ${command.usage}`, '', command.summary, '', 'flags:', ...flags, '', 'examples:', ...command.examples.map((e) => `  ${e}`)].join('\n');
}

/** The version of the package this CLI belongs to (package.json beside dist/). */
export function cliVersion(): string {
  for (const up of ['../../../..', '../../..']) {
    try {
      const pkg = JSON.parse(readFileSync(join(__dirname, up, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'provwatch' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // try the next candidate (dist/ layout or running from source)
    }
  }
  return 'unknown';
}

/**
 * Runs one command and returns the exit code: 0 PASSED, 1 FAILED (evidence wrong, missing, or
 * not checkable), 2 usage. Every verdict that is not `pass` exits 1: fail closed. Whatever the
 * arguments, the outcome is one of the three: usage errors print `error: <message>` and the usage,
 * anything else thrown becomes a verdict (`FAILED: <code>: <message>`), never a stack trace.
 * On success the first line is the one the replaced tool prints (scripts look for it), then
 * provwatch's detail line.
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout(usage());
    return EXIT_PASSED;
  }
  if (name === '--version' || name === 'version') {
    io.stdout(`provwatch ${cliVersion()}`);
    return EXIT_PASSED;
  }
  if (name === undefined || name === '') {
    io.stderr(`error: no command given\n${usage()}`);
    return EXIT_USAGE;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    const near = COMMANDS.map((c) => c.name).find((n) => n.startsWith(name) || name.startsWith(n));
    io.stderr(`error: unknown command ${JSON.stringify(name)}${near ? ` (did you mean ${near}?)` : ''}\n${usage()}`);
    return EXIT_USAGE;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(commandHelp(command));
    return EXIT_PASSED;
  }
  const json = rest.includes('--json');
  const printed: string[] = [];
  const context: CommandContext = { warn: (m) => io.stderr(m), print: (text) => printed.push(text), env: io.env };
  let verdict: Verdict;
  try {
    verdict = await command.load()(rest, context);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`error: ${err.message}\nusage: ${command.usage}\n(provwatch ${command.name} --help describes every flag)`);
      return EXIT_USAGE;
    }
    // Loaded only on this path: turning any error into a verdict needs the sources library.
    const { verdictFromAnyError } = require('@provwatch/sources') as typeof import('@provwatch/sources');
    verdict = verdictFromAnyError(err);
  } finally {
    await runCliExitHooks();
  }
  if (json) io.stdout(JSON.stringify(verdict, null, 2));
  // With --json the result lines go to stderr, so stdout stays one JSON document.
  const lines = json ? io.stderr : io.stdout;
  if (verdict.status === 'pass') {
    lines(command.passLine);
    lines(`provwatch: ${verdict.message}`);
    if (!json) for (const text of printed) io.stdout(text);
    return EXIT_PASSED;
  }
  lines(`FAILED: ${verdict.code}: ${verdict.message}`);
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
