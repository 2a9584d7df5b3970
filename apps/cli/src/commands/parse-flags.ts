import { parseArgs } from 'node:util';
import { UsageError } from '../cli.error';

import type { FlagTable } from './flag-tables';

/**
 * Strict flag parsing, the one place every command's argv goes through, so no command can forget
 * a rule: an unknown flag, a flag without its value, a value given to a boolean flag, a flag that
 * takes one value given twice (which one wins would be a guess), an empty or blank value, and an
 * empty argument are all usage errors (exit 2) naming the flag. Threat: `--trusted-root ''`
 * silently fell back to the public-good root, `--certificate-identity=` to "no identity", and a
 * flag swallowing the next one as its value (`--bundle --json`) verified something else than meant.
 * Messages are our own: Node's parseArgs texts are not shown to users.
 */
export function parseFlags<T extends FlagTable>(argv: string[], options: T) {
  checkArguments(argv, options);
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch {
    // Not reachable after checkArguments; kept so a parser change still ends as a usage error.
    throw new UsageError(`the flags could not be parsed: ${argv.map((a) => JSON.stringify(a)).join(' ')}`);
  }
}

function checkArguments(argv: string[], options: FlagTable): void {
  const { tokens } = parseArgs({ args: argv, options, allowPositionals: true, strict: false, tokens: true });
  const seen = new Set<string>();
  for (const token of tokens) {
    if (token.kind === 'positional') {
      if (token.value.trim() === '') throw new UsageError('an empty argument was given (check for an unset shell variable)');
      continue;
    }
    if (token.kind !== 'option') continue;
    const typed = argv[token.index];
    const flag = token.rawName;
    const where = typed !== undefined && typed !== flag && !typed.startsWith(`${flag}=`) ? ` (in ${JSON.stringify(typed)})` : '';
    if (!Object.hasOwn(options, token.name)) {
      const suggestion = closest(token.name, Object.keys(options));
      throw new UsageError(`unknown flag ${shown(flag)}${where}${suggestion ? ` (did you mean --${suggestion}?)` : ''}`);
    }
    const spec = options[token.name];
    const name = `--${token.name}`;
    if (spec.type === 'boolean') {
      if (token.value !== undefined) throw new UsageError(`${name} takes no value`);
      continue;
    }
    if (token.value === undefined) throw new UsageError(`${name} needs a value`);
    if (!token.inlineValue && token.value.startsWith('-') && token.value.length > 1) {
      throw new UsageError(`${name} needs a value, got the flag ${shown(token.value)} (write ${name}=VALUE for a value that starts with -)`);
    }
    if (token.value.trim() === '') throw new UsageError(`${name} needs a value; an empty one is not allowed`);
    if (!spec.multiple) {
      if (seen.has(token.name)) throw new UsageError(`${name} is given more than once; it takes one value`);
      seen.add(token.name);
    }
  }
}

function shown(text: string): string {
  return /^[\x21-\x7e]{1,80}$/.test(text) ? text : JSON.stringify(text.length > 80 ? `${text.slice(0, 77)}...` : text);
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

/** The known flag within edit distance 3 of a mistyped one (the closest). */
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
