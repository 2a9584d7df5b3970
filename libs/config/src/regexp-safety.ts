/**
 * Identity patterns from the watchlist are matched against certificate SANs that an attacker
 * chooses (anyone can get a Fulcio certificate with a long, crafted identity). A pattern with
 * catastrophic backtracking (`^(a+)+$`) would then pin the verify worker's event loop for
 * minutes per evidence bundle: a denial of service from one signature. V8 has no linear-time
 * mode, so provwatch accepts only a backtracking-safe subset and says why a pattern is not in it.
 *
 * Rejected, inside a group repeated by `*`, `+`, `{n,}` or `{n,m}` (m > 1):
 * - a variable quantifier (`a+`, `b?`, `c{1,3}`) unless each repetition is fenced by a mandatory
 *   single character (first or last in the group) that the inner repeated parts cannot match,
 *   as in `(\.[0-9]+)*` or `([a-z]+-)*`: then there is one way to split the input;
 * - alternatives that can begin with the same character (`(a|ab)+`, `(\w|\d)*`).
 * Everything else of JavaScript's syntax is allowed as written.
 */
export function regexpSafetyProblem(pattern: string): string | undefined {
  let tree: Alternation;
  try {
    tree = new Parser(pattern).parse();
  } catch {
    return undefined; // the RegExp constructor reports syntax errors
  }
  return check(tree);
}

type Range = [number, number];
/** A set of code points as sorted, disjoint inclusive ranges. */
interface CharSet {
  ranges: Range[];
}
interface Quantifier {
  min: number;
  max: number; // Infinity when unbounded
}
type Atom =
  | { kind: 'chars'; set: CharSet }
  | { kind: 'group'; body: Alternation; lookaround: boolean }
  | { kind: 'assertion' }
  | { kind: 'backref' };
interface Term {
  atom: Atom;
  quantifier: Quantifier;
  /** The term as written, quantifier included, for the error message. */
  text: string;
}
type Sequence = Term[];
type Alternation = Sequence[];

const MAX_CP = 0x10ffff;
const ALL: CharSet = { ranges: [[0, MAX_CP]] };
const DIGIT: Range[] = [[0x30, 0x39]];
const WORD: Range[] = [[0x30, 0x39], [0x41, 0x5a], [0x5f, 0x5f], [0x61, 0x7a]];
const SPACE: Range[] = [[0x09, 0x0d], [0x20, 0x20], [0xa0, 0xa0], [0x1680, 0x1680], [0x2000, 0x200a], [0x2028, 0x2029], [0x202f, 0x202f], [0x205f, 0x205f], [0x3000, 0x3000], [0xfeff, 0xfeff]];

function normalise(ranges: Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: Range[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r[0] <= last[1] + 1) last[1] = Math.max(last[1], r[1]);
    else out.push([r[0], r[1]]);
  }
  return out;
}

function complement(ranges: Range[]): Range[] {
  const out: Range[] = [];
  let next = 0;
  for (const [lo, hi] of normalise(ranges)) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= MAX_CP) out.push([next, MAX_CP]);
  return out;
}

function intersects(a: CharSet, b: CharSet): boolean {
  return a.ranges.some(([alo, ahi]) => b.ranges.some(([blo, bhi]) => alo <= bhi && blo <= ahi));
}

function union(sets: CharSet[]): CharSet {
  return { ranges: normalise(sets.flatMap((s) => s.ranges)) };
}

class Parser {
  private i = 0;
  constructor(private readonly src: string) {}

  parse(): Alternation {
    const alt = this.alternation();
    if (this.i < this.src.length) throw new Error('unbalanced )');
    return alt;
  }

  private alternation(): Alternation {
    const alts: Alternation = [this.sequence()];
    while (this.src[this.i] === '|') {
      this.i++;
      alts.push(this.sequence());
    }
    return alts;
  }

  private sequence(): Sequence {
    const seq: Sequence = [];
    while (this.i < this.src.length && this.src[this.i] !== '|' && this.src[this.i] !== ')') {
      const start = this.i;
      const atom = this.atom();
      const quantifier = this.quantifier();
      seq.push({ atom, quantifier, text: this.src.slice(start, this.i) });
    }
    return seq;
  }

  private quantifier(): Quantifier {
    const c = this.src[this.i];
    let q: Quantifier | undefined;
    if (c === '*') q = { min: 0, max: Infinity };
    else if (c === '+') q = { min: 1, max: Infinity };
    else if (c === '?') q = { min: 0, max: 1 };
    else if (c === '{') {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.i));
      if (m) {
        this.i += m[0].length - 1;
        q = { min: Number(m[1]), max: m[2] === undefined ? Number(m[1]) : m[3] === '' ? Infinity : Number(m[3]) };
      }
    }
    if (!q) return { min: 1, max: 1 };
    this.i++;
    if (this.src[this.i] === '?') this.i++; // lazy: the same backtracking, in another order
    return q;
  }

  private atom(): Atom {
    const c = this.src[this.i];
    if (c === '^' || c === '$') {
      this.i++;
      return { kind: 'assertion' };
    }
    if (c === '.') {
      this.i++;
      return { kind: 'chars', set: ALL };
    }
    if (c === '[') return { kind: 'chars', set: this.charClass() };
    if (c === '(') {
      this.i++;
      let lookaround = false;
      if (this.src.startsWith('?:', this.i)) this.i += 2;
      else if (/^\?<?[=!]/.test(this.src.slice(this.i))) {
        lookaround = true;
        this.i += this.src[this.i + 1] === '<' ? 3 : 2;
      } else if (this.src.startsWith('?<', this.i)) this.i = this.src.indexOf('>', this.i) + 1;
      const body = this.alternation();
      if (this.src[this.i] !== ')') throw new Error('unbalanced (');
      this.i++;
      return { kind: 'group', body, lookaround };
    }
    if (c === '\\') {
      const e = this.escape(false);
      return e === 'assertion' ? { kind: 'assertion' } : e === 'backref' ? { kind: 'backref' } : { kind: 'chars', set: e };
    }
    const cp = this.src.codePointAt(this.i)!;
    this.i += cp > 0xffff ? 2 : 1;
    return { kind: 'chars', set: { ranges: [[cp, cp]] } };
  }

  /** After a backslash: a character set, or a zero-width assertion / back-reference outside classes. */
  private escape(inClass: boolean): CharSet | 'assertion' | 'backref' {
    this.i++; // the backslash
    const c = this.src[this.i++];
    switch (c) {
      case 'd': return { ranges: DIGIT };
      case 'D': return { ranges: complement(DIGIT) };
      case 'w': return { ranges: WORD };
      case 'W': return { ranges: complement(WORD) };
      case 's': return { ranges: SPACE };
      case 'S': return { ranges: complement(SPACE) };
      case 'b': return inClass ? { ranges: [[8, 8]] } : 'assertion';
      case 'B': return 'assertion';
      case 'n': return { ranges: [[10, 10]] };
      case 'r': return { ranges: [[13, 13]] };
      case 't': return { ranges: [[9, 9]] };
      case 'f': return { ranges: [[12, 12]] };
      case 'v': return { ranges: [[11, 11]] };
      case '0': return { ranges: [[0, 0]] };
      case 'x': {
        const cp = parseInt(this.src.slice(this.i, this.i + 2), 16);
        this.i += 2;
        return { ranges: [[cp, cp]] };
      }
      case 'u': {
        const braced = /^\{([0-9a-fA-F]+)\}/.exec(this.src.slice(this.i));
        const hex = braced ? braced[1] : this.src.slice(this.i, this.i + 4);
        this.i += braced ? braced[0].length : 4;
        const cp = parseInt(hex, 16);
        return { ranges: [[cp, cp]] };
      }
      case 'p':
      case 'P':
        // Unicode property classes: not bounded here, treated as any character (conservative).
        if (this.src[this.i] === '{') this.i = this.src.indexOf('}', this.i) + 1;
        return ALL;
      case 'k':
        if (this.src[this.i] === '<') this.i = this.src.indexOf('>', this.i) + 1;
        return 'backref';
      case 'c': {
        const cp = this.src.charCodeAt(this.i++) % 32;
        return { ranges: [[cp, cp]] };
      }
      default: {
        if (!inClass && /[1-9]/.test(c)) {
          while (/[0-9]/.test(this.src[this.i] ?? '')) this.i++;
          return 'backref';
        }
        const cp = c.codePointAt(0)!;
        return { ranges: [[cp, cp]] };
      }
    }
  }

  private charClass(): CharSet {
    this.i++; // [
    const negated = this.src[this.i] === '^';
    if (negated) this.i++;
    const ranges: Range[] = [];
    while (this.i < this.src.length && this.src[this.i] !== ']') {
      const lo = this.classAtom();
      if (this.src[this.i] === '-' && this.src[this.i + 1] !== ']' && this.i + 1 < this.src.length && lo.ranges.length === 1 && lo.ranges[0][0] === lo.ranges[0][1]) {
        this.i++;
        const hi = this.classAtom();
        if (hi.ranges.length === 1 && hi.ranges[0][0] === hi.ranges[0][1]) {
          ranges.push([lo.ranges[0][0], hi.ranges[0][0]]);
          continue;
        }
        ranges.push(...lo.ranges, [0x2d, 0x2d], ...hi.ranges);
        continue;
      }
      ranges.push(...lo.ranges);
    }
    if (this.src[this.i] !== ']') throw new Error('unterminated class');
    this.i++;
    return { ranges: negated ? complement(ranges) : normalise(ranges) };
  }

  private classAtom(): CharSet {
    if (this.src[this.i] === '\\') {
      const e = this.escape(true);
      return typeof e === 'string' ? ALL : e;
    }
    const cp = this.src.codePointAt(this.i)!;
    this.i += cp > 0xffff ? 2 : 1;
    return { ranges: [[cp, cp]] };
  }
}

const isVariable = (q: Quantifier) => q.min !== q.max;
const repeats = (q: Quantifier) => q.max > 1;

/** Every character an atom can consume (over-approximated). */
function charsOf(atom: Atom): CharSet {
  if (atom.kind === 'chars') return atom.set;
  if (atom.kind === 'group') return atom.lookaround ? { ranges: [] } : union(atom.body.flat().map((t) => charsOf(t.atom)));
  if (atom.kind === 'backref') return ALL;
  return { ranges: [] };
}

/** Characters a sequence can start with (empty-matching prefixes are looked through). */
function firstChars(seq: Sequence): CharSet {
  const sets: CharSet[] = [];
  for (const term of seq) {
    if (term.atom.kind === 'assertion' || (term.atom.kind === 'group' && term.atom.lookaround)) continue;
    sets.push(term.atom.kind === 'group' ? union(term.atom.body.map(firstChars)) : charsOf(term.atom));
    if (term.quantifier.min > 0 && !(term.atom.kind === 'group' && term.atom.body.some((s) => s.length === 0))) break;
  }
  return union(sets);
}

/** The variable-count terms anywhere inside a sequence (nested groups included). */
function variableTerms(seq: Sequence): Term[] {
  return seq.flatMap((t) => [...(isVariable(t.quantifier) ? [t] : []), ...(t.atom.kind === 'group' ? t.atom.body.flatMap(variableTerms) : [])]);
}

/** A mandatory single character, first or last, that no variable part of the repetition can match. */
function fenced(seq: Sequence, inner: Term[]): boolean {
  const innerChars = union(inner.map((t) => charsOf(t.atom)));
  const consuming = seq.filter((t) => t.atom.kind !== 'assertion' && !(t.atom.kind === 'group' && t.atom.lookaround));
  const fence = (t: Term | undefined) => t !== undefined && t.atom.kind === 'chars' && !isVariable(t.quantifier) && t.quantifier.min >= 1 && !intersects(t.atom.set, innerChars);
  return fence(consuming[0]) || fence(consuming[consuming.length - 1]);
}

function check(alt: Alternation): string | undefined {
  for (const seq of alt) {
    for (const term of seq) {
      if (term.atom.kind !== 'group') continue;
      const group = term.atom;
      if (repeats(term.quantifier) && !group.lookaround) {
        const alternatives = group.body;
        for (let a = 0; a < alternatives.length; a++)
          for (let b = a + 1; b < alternatives.length; b++)
            if (intersects(firstChars(alternatives[a]), firstChars(alternatives[b])))
              return `overlapping alternatives in the repeated group ${term.text} (two can start with the same character): backtracking grows exponentially on input that almost matches`;
        for (const seq2 of alternatives) {
          const inner = variableTerms(seq2);
          if (inner.length > 0 && !fenced(seq2, inner))
            return `nested quantifier: ${inner[0].text} inside the repeated group ${term.text}, with no character that fences one repetition from the next: backtracking grows exponentially on input that almost matches`;
        }
      }
      const nested = check(group.body);
      if (nested) return nested;
    }
  }
  return undefined;
}
