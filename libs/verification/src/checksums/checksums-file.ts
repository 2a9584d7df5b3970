import { VerificationError } from '../verdict';

export const MAX_CHECKSUMS_FILE_BYTES = 1024 * 1024;
export const MAX_CHECKSUM_ENTRIES = 10_000;
/** Enough line numbers to fix a file; a hostile one could otherwise make the message huge. */
const MAX_REPORTED_LINES = 50;

export interface ChecksumEntry {
  name: string;
  /** Lowercase hex. */
  sha256: string;
  /** 1-based line of the (first) listing. */
  line: number;
}

/** `<64 hex><space><space or *><name>`: sha256sum's text and binary markers; goreleaser writes the first. */
const LINE = /^([0-9a-fA-F]{64}) [ *](.+)$/;

/**
 * Parses `checksums.txt` as goreleaser and sha256sum write it. The file is signed, but by a
 * release workflow that may be compromised, so it is parsed strictly: every bad line is listed
 * at once, and a name listed twice with different digests makes the whole file invalid (which
 * one would be true?). Names are release asset names: no paths, no leading or trailing spaces,
 * no control characters (sha256sum's `\`-escaped names are not accepted).
 */
export function parseChecksumsFile(content: Uint8Array | string): ChecksumEntry[] {
  const size = typeof content === 'string' ? Buffer.byteLength(content) : content.byteLength;
  if (size > MAX_CHECKSUMS_FILE_BYTES) throw new VerificationError('input-too-large', `checksums file is ${size} bytes, more than the ${MAX_CHECKSUMS_FILE_BYTES} allowed`);
  const text = typeof content === 'string' ? content : decodeUtf8(content);

  const bad: string[] = [];
  const entries = new Map<string, ChecksumEntry>();
  const lines = text.split('\n');
  // A final newline leaves one empty string behind; it is not a line.
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  for (const [i, raw] of lines.entries()) {
    const number = i + 1;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '') continue;
    const m = LINE.exec(line);
    const problem = m ? nameProblem(m[2]) : 'not "<sha256 hex>  <name>"';
    if (problem || !m) {
      bad.push(`line ${number} (${problem})`);
      continue;
    }
    const entry: ChecksumEntry = { name: m[2], sha256: m[1].toLowerCase(), line: number };
    const previous = entries.get(entry.name);
    if (previous && previous.sha256 !== entry.sha256) {
      bad.push(`line ${number} (${entry.name} listed on line ${previous.line} with another digest)`);
      continue;
    }
    if (!previous) {
      if (entries.size >= MAX_CHECKSUM_ENTRIES) throw new VerificationError('input-too-large', `checksums file lists more than ${MAX_CHECKSUM_ENTRIES} files`);
      entries.set(entry.name, entry);
    }
  }
  if (bad.length > 0) {
    const shown = bad.slice(0, MAX_REPORTED_LINES).join(', ');
    const more = bad.length > MAX_REPORTED_LINES ? `, and ${bad.length - MAX_REPORTED_LINES} more` : '';
    throw new VerificationError('checksums-file-invalid', `checksums file has ${bad.length} bad line(s): ${shown}${more}`);
  }
  if (entries.size === 0) throw new VerificationError('checksums-file-invalid', 'checksums file lists no files');
  return [...entries.values()];
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new VerificationError('checksums-file-invalid', 'checksums file is not valid UTF-8');
  }
}

function nameProblem(name: string): string | undefined {
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'control character in the name';
  if (name !== name.trim()) return 'space around the name';
  if (name.includes('/') || name.includes('\\')) return 'a path, not a file name';
  if (name === '.' || name === '..') return 'not a file name';
  return undefined;
}

export type ChecksumStatus = 'match' | 'mismatch' | 'not-provided';

export interface ChecksumMatch {
  name: string;
  /** What checksums.txt lists. */
  expected: string;
  /** What the file given hashes to; absent when the file was not provided. */
  actual?: string;
  status: ChecksumStatus;
}

/**
 * Per listed file: does the file given have the listed digest? Never throws for a mismatch, so a
 * caller can store every result as evidence; matchChecksums turns the results into a verdict.
 */
export function compareChecksums(entries: readonly ChecksumEntry[], actual: ReadonlyMap<string, string>): ChecksumMatch[] {
  return entries.map((e) => {
    if (!actual.has(e.name)) return { name: e.name, expected: e.sha256, status: 'not-provided' };
    const digest = normalizeSha256(actual.get(e.name)!, e.name);
    return { name: e.name, expected: e.sha256, actual: digest, status: digest === e.sha256 ? 'match' : 'mismatch' };
  });
}

/**
 * Compares the listed digests with the digests of the files at hand and returns the per-file
 * results. Fails with `checksum-mismatch` naming every file whose digest differs;
 * `checksum-entry-missing` when a file given is not listed at all (nothing vouches for it), or,
 * with `requireAll`, when a listed file was not given. Without `requireAll` those listed files
 * are reported as `not-provided`.
 */
export function matchChecksums(entries: readonly ChecksumEntry[], actual: ReadonlyMap<string, string>, options: { requireAll?: boolean } = {}): ChecksumMatch[] {
  const results = compareChecksums(entries, actual);
  const mismatched = results.filter((r) => r.status === 'mismatch');
  if (mismatched.length > 0) {
    throw new VerificationError(
      'checksum-mismatch',
      `digest differs from the checksums file for ${mismatched.map((r) => `${r.name} (listed sha256:${r.expected}, file sha256:${r.actual})`).join(', ')}`,
    );
  }
  const listed = new Set(entries.map((e) => e.name));
  const unlisted = [...actual.keys()].filter((name) => !listed.has(name));
  if (unlisted.length > 0) throw new VerificationError('checksum-entry-missing', `not listed in the checksums file: ${unlisted.join(', ')}`);
  const notProvided = results.filter((r) => r.status === 'not-provided');
  if (options.requireAll && notProvided.length > 0) {
    throw new VerificationError('checksum-entry-missing', `listed in the checksums file but not provided: ${notProvided.map((r) => r.name).join(', ')}`);
  }
  return results;
}

/** The caller computed these digests itself: a malformed one is a bug, not evidence. */
function normalizeSha256(hex: string, name: string): string {
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new TypeError(`the sha256 given for ${name} is not 64 hex digits`);
  return hex.toLowerCase();
}
