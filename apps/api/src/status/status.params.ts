import { badRequest } from '../errors/api-error';

// Inputs are checked before any query: bounded lengths and character sets, integers that are
// integers. A value that fails is a 400 with the field named, and nothing is read or written.
const TARGET = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const TAG = /^[A-Za-z0-9][A-Za-z0-9._+-]{0,127}$/;

export function targetParam(value: string): string {
  if (!TARGET.test(value)) throw badRequest('target must be a watched target name (a-z, 0-9, . _ -, at most 63 characters)');
  return value;
}

export function tagParam(value: string): string {
  if (!TAG.test(value)) throw badRequest('tag must be a release tag (letters, digits, . _ + -, at most 128 characters)');
  return value;
}

export function limitParam(value: string | undefined, fallback = 50): number {
  if (value === undefined) return fallback;
  if (!/^\d{1,3}$/.test(value) || Number(value) < 1 || Number(value) > 200) throw badRequest('limit must be an integer from 1 to 200');
  return Number(value);
}

/** Cursors are opaque to clients: base64url of JSON we wrote ourselves, validated on the way back. */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

export function decodeCursor<T>(value: string | undefined, valid: (parsed: unknown) => parsed is T): T | undefined {
  if (value === undefined) return undefined;
  if (value.length > 200 || !/^[A-Za-z0-9_-]+$/.test(value)) throw badRequest('cursor is not valid');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    throw badRequest('cursor is not valid');
  }
  if (!valid(parsed)) throw badRequest('cursor is not valid');
  return parsed;
}
