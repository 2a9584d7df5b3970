import { Prisma } from './generated/client';

/**
 * Long lists (every watched target's name: 10,000 at scale) bound as ONE text parameter and split
 * by Postgres, instead of an array parameter. Prisma's pg adapter and node-postgres map and quote
 * an array element by element in JavaScript, in one synchronous turn: 20-30 ms of event loop per
 * 10,000 names, on every metrics refresh. A joined string costs one copy.
 */
const SEPARATOR = '\n';

/**
 * `text[]` of the values. A value containing the separator (it would split in two) or empty (a
 * list of one empty string would arrive as no value) is refused.
 */
export function textList(values: readonly string[]): Prisma.Sql {
  for (const value of values) {
    // Target names are [a-z0-9._-] (watchlist schema); this guards any other caller.
    if (value.length === 0 || value.includes(SEPARATOR)) throw new Error(`textList: a value is empty or contains a newline: ${JSON.stringify(value.slice(0, 80))}`);
  }
  // An empty list must stay empty: string_to_array('', E'\n') is '{}', not '{""}'.
  return Prisma.sql`string_to_array(${values.join(SEPARATOR)}::text, E'\\n')`;
}

/** `int[]` of the values (integers only). */
export function intList(values: readonly number[]): Prisma.Sql {
  for (const value of values) if (!Number.isSafeInteger(value)) throw new Error(`intList: not an integer: ${value}`);
  return Prisma.sql`string_to_array(${values.join(',')}::text, ',')::int[]`;
}
