import { badRequest } from '../errors/api-error';

// Inputs are checked before any query: bounded lengths and character sets, integers that are
// integers and fit the column they are compared with. A value that fails is a 400 with the field
// named, and nothing is read or written.
const TARGET = /^[a-z0-9][a-z0-9._-]{0,62}$/;
// Git tags as GitHub releases use them, including monorepo forms (`pkg/v1.2.0`,
// `@scope/pkg@1.2.0`; a slash arrives URL-encoded as %2F). No `..`, `//`, `@{` or trailing `/`,
// which git refuses in a ref anyway.
const TAG = /^[A-Za-z0-9@][A-Za-z0-9._+@/-]{0,127}$/;
const TAG_FORBIDDEN = /\.\.|\/\/|@\{|\/$/;

/** Largest value of a Postgres `integer` (release ids) and `bigint` (run ids). */
export const MAX_INT4 = 2_147_483_647;
export const MAX_INT8 = 9_223_372_036_854_775_807n;

export function targetParam(value: string): string {
  if (typeof value !== 'string' || !TARGET.test(value)) throw badRequest('target must be a watched target name (a-z, 0-9, . _ -, at most 63 characters)');
  return value;
}

export function tagParam(value: string): string {
  if (typeof value !== 'string' || !TAG.test(value) || TAG_FORBIDDEN.test(value)) {
    throw badRequest('tag must be a release tag (letters, digits, . _ + @ - and /, at most 128 characters)');
  }
  return value;
}

export function limitParam(value: string | undefined, fallback = 50): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^\d{1,3}$/.test(value) || Number(value) < 1 || Number(value) > 200) throw badRequest('limit must be an integer from 1 to 200');
  return Number(value);
}

/** A run id as a decimal string: a positive integer that fits Postgres' bigint. */
export function isRunId(value: unknown): value is string {
  return typeof value === 'string' && /^[1-9]\d{0,18}$/.test(value) && BigInt(value) <= MAX_INT8;
}

/** `?before=<run id>`: the plain-integer form of the run history's keyset. */
export function runIdParam(name: string, value: string | undefined): bigint | undefined {
  if (value === undefined) return undefined;
  if (!isRunId(value)) throw badRequest(`${name} must be a run id (a positive integer)`);
  return BigInt(value);
}

/** Cursors are opaque to clients: base64url of JSON we wrote ourselves, validated on the way back. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeCursor<T>(value: string | undefined, valid: (parsed: unknown) => parsed is T): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length > 200 || !/^[A-Za-z0-9_-]+$/.test(value)) throw badRequest('cursor is not valid');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    throw badRequest('cursor is not valid');
  }
  if (!valid(parsed)) throw badRequest('cursor is not valid');
  return parsed;
}

/**
 * The index of the first name after `cursor` in `sorted` (sorted with the default string order, the
 * order `>` compares in), or `sorted.length` when none is: where the next page of a keyset over the
 * watchlist starts. A binary search, so a page deep in a 10,000-target list costs what the first
 * page costs.
 */
export function firstIndexAfter(sorted: readonly string[], cursor: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (sorted[mid] > cursor) high = mid;
    else low = mid + 1;
  }
  return low;
}
