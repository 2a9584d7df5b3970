import { VerificationError } from '../verdict';

export const MAX_CHECKSUMS_FILE_BYTES = 1024 * 1024;
export const MAX_CHECKSUM_ENTRIES = 10_000;

export interface ChecksumEntry {
  name: string;
  sha256: string;
  line: number;
}

/**
 * Parses `checksums.txt` as goreleaser and sha256sum write it: `<64 hex>  <name>` (or ` *name`
 * for binary mode). Strict: every bad line is listed at once, and a name listed twice with
 * different digests makes the whole file invalid (which one would be true?).
 */
export function parseChecksumsFile(content: Buffer | string): ChecksumEntry[] {
  const size = typeof content === 'string' ? Buffer.byteLength(content) : content.length;
  if (size > MAX_CHECKSUMS_FILE_BYTES) throw new VerificationError('input-too-large', `checksums file is larger than ${MAX_CHECKSUMS_FILE_BYTES} bytes`);
  const lines = content.toString().split('\n');
  const problems: string[] = [];
  const entries = new Map<string, ChecksumEntry>();
  lines.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    const m = /^([0-9a-fA-F]{64}) [ *](.+)$/.exec(line);
    if (!m || m[2].includes('/') || m[2] === '.' || m[2] === '..') {
      problems.push(`line ${i + 1}`);
      return;
    }
    const entry = { name: m[2], sha256: m[1].toLowerCase(), line: i + 1 };
    const previous = entries.get(entry.name);
    if (previous && previous.sha256 !== entry.sha256) problems.push(`line ${i + 1} (${entry.name} listed again with another digest)`);
    entries.set(entry.name, entry);
  });
  if (problems.length > 0) throw new VerificationError('checksums-file-invalid', `checksums file has malformed lines: ${problems.join(', ')}`);
  if (entries.size === 0) throw new VerificationError('checksums-file-invalid', 'checksums file lists no files');
  if (entries.size > MAX_CHECKSUM_ENTRIES) throw new VerificationError('input-too-large', `checksums file lists more than ${MAX_CHECKSUM_ENTRIES} files`);
  return [...entries.values()];
}

export type ChecksumMatch = { name: string; expected: string; actual?: string; status: 'match' | 'mismatch' | 'not-provided' };

/**
 * Compares the listed digests with the digests of the files at hand. Any mismatch fails naming the
 * file; with `requireAll`, a listed file that was not provided fails too (`checksum-entry-missing`).
 */
export function matchChecksums(entries: ChecksumEntry[], actual: ReadonlyMap<string, string>, options: { requireAll?: boolean } = {}): ChecksumMatch[] {
  const results: ChecksumMatch[] = entries.map((e) => {
    const digest = actual.get(e.name)?.toLowerCase();
    if (digest === undefined) return { name: e.name, expected: e.sha256, status: 'not-provided' };
    return { name: e.name, expected: e.sha256, actual: digest, status: digest === e.sha256 ? 'match' : 'mismatch' };
  });
  const mismatched = results.filter((r) => r.status === 'mismatch');
  if (mismatched.length > 0) {
    throw new VerificationError('checksum-mismatch', `digest differs from checksums file for ${mismatched.map((r) => `${r.name} (listed ${r.expected}, got ${r.actual})`).join(', ')}`);
  }
  const listed = new Set(entries.map((e) => e.name));
  const unlisted = [...actual.keys()].filter((name) => !listed.has(name));
  if (unlisted.length > 0) throw new VerificationError('checksum-entry-missing', `not listed in the checksums file: ${unlisted.join(', ')}`);
  const missing = results.filter((r) => r.status === 'not-provided');
  if (options.requireAll && missing.length > 0) {
    throw new VerificationError('checksum-entry-missing', `listed but not provided: ${missing.map((r) => r.name).join(', ')}`);
  }
  return results;
}
