import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from '../cli.error';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags shared by every verify command. */
export const COMMON_FLAGS = {
  'trusted-root': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options;

/**
 * Strict flag parsing: an unknown, repeated or empty flag is a usage error (exit 2), never
 * ignored. Threat: `--trusted-root ''` fell back to the public-good root and passed; an empty
 * identity or issuer would match as an unanchored pattern matches: every string flag here names
 * a file, an identity, an issuer, a pattern, a URL, a digest or a ref, and none may be empty.
 */
export function parseFlags<T extends Options>(argv: string[], options: T) {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true, tokens: true });
  } catch (err) {
    throw new UsageError(describeParseError(err as NodeJS.ErrnoException, argv, options));
  }
  const seen = new Set<string>();
  for (const token of parsed.tokens ?? []) {
    if (token.kind !== 'option') continue;
    const option = options[token.name];
    if (!option?.multiple && seen.has(token.name)) throw new UsageError(`--${token.name} is given more than once`);
    seen.add(token.name);
    if (option?.type === 'string' && (token.value === undefined || token.value.trim() === '')) {
      throw new UsageError(`--${token.name} needs a value; an empty one is not allowed`);
    }
  }
  return { values: parsed.values, positionals: parsed.positionals };
}

/** Node's parser messages quote oddly and suggest `--` tricks; say what is wrong in one line instead. */
function describeParseError(err: NodeJS.ErrnoException, argv: string[], options: Options): string {
  const flag = /'(-{1,2}[^' ]+)/.exec(err.message)?.[1];
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION': {
      const name = (flag ?? '').replace(/^-+/, '').split('=')[0];
      const suggestion = closest(name, Object.keys(options));
      return `unknown flag ${flag ?? argv.find((a) => a.startsWith('-')) ?? ''}${suggestion ? ` (did you mean --${suggestion}?)` : ''}`;
    }
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return flag ? `${flag.split(' ')[0]} ${/argument missing/.test(err.message) ? 'needs a value' : 'takes no value'}` : 'a flag has an invalid value';
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return 'unexpected argument';
    default:
      return 'invalid flags';
  }
}

/** The known flag within edit distance 3 of a mistyped one, if exactly one is closest. */
export function closest(name: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 4;
  for (const candidate of known) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
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
