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

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

/**
 * The first key that appears twice in one object of a valid JSON text (JSON.parse accepted it,
 * so every string is closed and every bracket matched). Strings are skipped with indexOf rather
 * than character by character: a bundle is mostly one long base64 string.
 */
function duplicateKey(text: string): { key: string; at: number } | undefined {
  const objects: Array<Set<string> | null> = [];
  let expectKey = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = closingQuote(text, i);
      if (expectKey) {
        const raw = text.slice(i + 1, end);
        // Escaped spellings of one key are the same key: unescape before comparing.
        const key = raw.indexOf('\\') < 0 ? raw : (JSON.parse(text.slice(i, end + 1)) as string);
        const keys = objects[objects.length - 1]!;
        if (keys.has(key)) return { key, at: i };
        keys.add(key);
        expectKey = false;
      }
      i = end;
    } else if (c === OPEN_OBJECT) {
      objects.push(new Set());
      expectKey = true;
    } else if (c === OPEN_ARRAY) {
      objects.push(null);
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      objects.pop();
    } else if (c === COMMA) {
      expectKey = objects[objects.length - 1] instanceof Set;
    }
  }
  return undefined;
}

/**
 * The quote closing the string that opens at `open`. In valid JSON a quote inside a string is
 * escaped by an odd run of backslashes before it (an even run is escaped backslashes), and the
 * run cannot reach back past the opening quote.
 */
function closingQuote(text: string, open: number): number {
  let q = text.indexOf('"', open + 1);
  for (;;) {
    if (q < 0) return text.length; // unreachable for text JSON.parse accepted; never loop on it
    let run = 0;
    while (text.charCodeAt(q - 1 - run) === BACKSLASH) run++;
    if (run % 2 === 0) return q;
    q = text.indexOf('"', q + 1);
  }
}
