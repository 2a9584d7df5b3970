// RFC 8785 canonical JSON, as Rekor stores entry bodies and signs SETs.
// JSON.stringify already serialises strings and numbers the RFC 8785 way;
// what it lacks is key ordering (UTF-16 code units, which is JS's default sort).

export type Json = string | number | boolean | null | Json[] | { [key: string]: Json | undefined };

export function canonicalize(value: Json): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalize).join(',')}]`;
  const keys = Object.keys(value)
    .filter((k) => value[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalize(value[k] as Json)}`).join(',')}}`;
}
