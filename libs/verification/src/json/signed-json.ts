/**
 * JSON read from signed or attacker-supplied bytes. Two rules beyond JSON.parse:
 * - No duplicate keys, at any depth. Threat: `{"subject":[evil],"subject":[good]}` is one
 *   document to JSON.parse (the last key wins) and another to a parser that keeps the first; a
 *   signature over bytes that two verifiers read differently proves nothing (parser
 *   differentials). Keys are compared after unescaping, so `"\u0073ubject"` is `subject` too.
 * - Messages say what is wrong and where (byte offset), never the parser's own text.
 */
export type JsonProblem = { reason: string };

export function parseSignedJson(text: string): { value: unknown } | JsonProblem {
  if (text.charCodeAt(0) === 0xfeff) return { reason: 'it starts with a byte-order mark' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { reason: `it is not JSON (${describeSyntaxError(text)})` };
  }
  const duplicate = duplicateKey(text);
  if (duplicate !== undefined) return { reason: `the key ${JSON.stringify(duplicate.key)} appears twice in one object (at byte ${duplicate.at})` };
  return { value };
}

/** Where the text stops being JSON, found by a cheap scan (JSON.parse's own message is not shown). */
function describeSyntaxError(text: string): string {
  if (text.trim() === '') return 'empty';
  const bad = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.exec(text);
  if (bad) return `control character at byte ${bad.index}`;
  return 'malformed or truncated';
}

/** The first key that appears twice in one object of a valid JSON text. */
function duplicateKey(text: string): { key: string; at: number } | undefined {
  const objects: Array<Set<string> | null> = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        const keys = objects[objects.length - 1]!;
        if (keys.has(key)) return { key, at: i };
        keys.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === '{') {
      objects.push(new Set());
      expectKey = true;
    } else if (c === '[') {
      objects.push(null);
    } else if (c === '}' || c === ']') {
      objects.pop();
    } else if (c === ',') {
      expectKey = objects[objects.length - 1] instanceof Set;
    }
  }
  return undefined;
}
