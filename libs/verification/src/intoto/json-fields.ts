/**
 * Reading attacker-controlled JSON. Kept out of the package exports: these are helpers for the
 * parsers here, not API.
 */

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A field the document itself has, never one inherited from Object.prototype (constructor, toString). */
export function own(value: unknown, key: string): unknown {
  return isRecord(value) && Object.hasOwn(value, key) ? value[key] : undefined;
}

/** A nested field by path, or undefined as soon as a step is not an object that has it. */
export function ownPath(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) current = own(current, key);
  return current;
}

export function ownString(value: unknown, ...path: string[]): string | undefined {
  const found = ownPath(value, ...path);
  return typeof found === 'string' ? found : undefined;
}
