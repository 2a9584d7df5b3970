import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from '../cli.error';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags shared by every verify command. */
export const COMMON_FLAGS = {
  'trusted-root': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

/** Strict flag parsing: an unknown or malformed flag is a usage error (exit 2), never ignored. */
export function parseFlags<T extends Options>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** Exactly one of the named flags must be set. */
export function exactlyOne(values: Record<string, unknown>, names: string[]): string {
  const set = names.filter((n) => values[n] !== undefined);
  if (set.length !== 1) throw new UsageError(`exactly one of ${names.map((n) => `--${n}`).join(', ')} is required`);
  return set[0];
}

export function atMostOne(values: Record<string, unknown>, names: string[]): string | undefined {
  const set = names.filter((n) => values[n] !== undefined);
  if (set.length > 1) throw new UsageError(`only one of ${names.map((n) => `--${n}`).join(', ')} may be given`);
  return set[0];
}
