import { parseSignedJson } from '../json/signed-json';
import { VerificationError } from '../verdict';
import { isRecord, own } from './json-fields';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
export const IN_TOTO_STATEMENT_V01 = 'https://in-toto.io/Statement/v0.1';
export const IN_TOTO_STATEMENT_V1 = 'https://in-toto.io/Statement/v1';
const STATEMENT_TYPES: ReadonlySet<string> = new Set([IN_TOTO_STATEMENT_V01, IN_TOTO_STATEMENT_V1]);
/** SBOM attestations are the largest statements we read; SLSA provenance is a few KiB. */
export const MAX_STATEMENT_BYTES = 32 * 1024 * 1024;
export const MAX_SUBJECTS = 10_000;
const MAX_DIGEST_VALUE_LENGTH = 1024;
/** Enough problems to fix a document; a hostile one could otherwise make the message huge. */
const MAX_REPORTED_PROBLEMS = 20;

/** Hex lengths of the digest algorithms whose values in-toto fixes as lowercase hex. */
const HEX_DIGEST_LENGTHS: ReadonlyMap<string, readonly number[]> = new Map([
  ['sha1', [40]],
  ['sha224', [56]],
  ['sha256', [64]],
  ['sha384', [96]],
  ['sha512', [128]],
  ['sha512_224', [56]],
  ['sha512_256', [64]],
  ['sha3_224', [56]],
  ['sha3_256', [64]],
  ['sha3_384', [96]],
  ['sha3_512', [128]],
  ['gitCommit', [40, 64]],
]);

export interface StatementSubject {
  name: string;
  /** Algorithm to value; hex values lowercased. A null-prototype object: only what the document said. */
  digest: Record<string, string>;
}

export interface Statement {
  _type: string;
  subject: StatementSubject[];
  predicateType: string;
  predicate: unknown;
}

/**
 * Parses a DSSE payload as an in-toto statement. The signature has been checked by the caller,
 * but the signer may still be hostile (any GitHub workflow can get a Fulcio certificate), so the
 * bytes are treated as attacker-controlled: size bounded, strict UTF-8, shapes checked field by
 * field, and every problem listed at once.
 */
export function parseStatement(payload: Uint8Array, payloadType: string): Statement {
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new VerificationError('statement-invalid', `DSSE payload type is ${JSON.stringify(payloadType)}, expected ${IN_TOTO_PAYLOAD_TYPE}`);
  }
  if (payload.byteLength > MAX_STATEMENT_BYTES) {
    throw new VerificationError('input-too-large', `statement is ${payload.byteLength} bytes, more than the ${MAX_STATEMENT_BYTES} allowed`);
  }
  const doc = parseJson(payload);
  if (!isRecord(doc)) throw new VerificationError('statement-invalid', 'the statement is not a JSON object');

  const problems: string[] = [];
  const type = own(doc, '_type');
  if (typeof type !== 'string' || !STATEMENT_TYPES.has(type)) {
    problems.push(`_type ${describe(type)} is not ${IN_TOTO_STATEMENT_V01} or ${IN_TOTO_STATEMENT_V1}`);
  }
  const predicateType = own(doc, 'predicateType');
  if (typeof predicateType !== 'string' || predicateType === '') problems.push(`predicateType ${describe(predicateType)} is not a non-empty string`);
  const subjects = readSubjects(own(doc, 'subject'), problems);
  const predicate = own(doc, 'predicate');
  if (predicate !== undefined && !isRecord(predicate)) problems.push('predicate is not a JSON object');

  if (problems.length > 0) throw new VerificationError('statement-invalid', `invalid in-toto statement: ${summarize(problems)}`);
  return { _type: type as string, subject: subjects, predicateType: predicateType as string, predicate };
}

// fatal: a lossy decode would let two different byte strings read as the same statement. One
// decoder serves every call: decode() without { stream: true } starts from a clean state each time.
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function parseJson(payload: Uint8Array): unknown {
  let text: string;
  try {
    text = STRICT_UTF8.decode(payload);
  } catch {
    throw new VerificationError('statement-invalid', 'the statement is not valid UTF-8');
  }
  // JSON.parse (inside) makes "__proto__" an own data property, never a prototype: reading
  // fields through own() below keeps inherited names (constructor, toString) out of the picture.
  const parsed = parseSignedJson(text);
  if ('reason' in parsed) throw new VerificationError('statement-invalid', `the statement cannot be read: ${parsed.reason}`);
  return parsed.value;
}

function readSubjects(value: unknown, problems: string[]): StatementSubject[] {
  if (!Array.isArray(value) || value.length === 0) {
    problems.push('subject is not a non-empty list');
    return [];
  }
  if (value.length > MAX_SUBJECTS) {
    problems.push(`subject lists ${value.length} entries, more than the ${MAX_SUBJECTS} allowed`);
    return [];
  }
  const subjects: StatementSubject[] = [];
  value.forEach((entry: unknown, i) => {
    if (!isRecord(entry)) return void problems.push(`subject[${i}] is not an object`);
    const name = own(entry, 'name');
    if (typeof name !== 'string') problems.push(`subject[${i}].name ${describe(name)} is not a string`);
    const digest = readDigest(own(entry, 'digest'), `subject[${i}].digest`, problems);
    if (typeof name === 'string' && digest) subjects.push({ name, digest });
  });
  return subjects;
}

function readDigest(value: unknown, where: string, problems: string[]): Record<string, string> | undefined {
  if (!isRecord(value)) return void problems.push(`${where} is not a map of algorithm to digest`);
  const digest: Record<string, string> = Object.create(null);
  const entries = Object.entries(value);
  if (entries.length === 0) problems.push(`${where} is empty`);
  let ok = entries.length > 0;
  for (const [alg, raw] of entries) {
    const problem = digestProblem(alg, raw);
    if (problem) {
      problems.push(`${where}.${alg}: ${problem}`);
      ok = false;
    } else {
      digest[alg] = HEX_DIGEST_LENGTHS.has(alg) ? (raw as string).toLowerCase() : (raw as string);
    }
  }
  return ok ? digest : undefined;
}

function digestProblem(alg: string, value: unknown): string | undefined {
  if (typeof value !== 'string') return `${describe(value)} is not a string`;
  if (value === '' || value.length > MAX_DIGEST_VALUE_LENGTH) return `length ${value.length} is out of range`;
  const lengths = HEX_DIGEST_LENGTHS.get(alg);
  if (lengths && (!/^[0-9a-fA-F]+$/.test(value) || !lengths.includes(value.length))) return `not ${lengths.join(' or ')} hex digits`;
  return undefined;
}

/** The subject whose digest has every algorithm given, with the same value (hex compared lowercase). */
export function findSubjectByDigest(statement: Statement, digest: Record<string, string>): StatementSubject | undefined {
  const wanted = Object.entries(digest).map(([alg, value]) => [alg, HEX_DIGEST_LENGTHS.has(alg) ? value.toLowerCase() : value] as const);
  if (wanted.length === 0) return undefined;
  return statement.subject.find((s) => wanted.every(([alg, value]) => Object.hasOwn(s.digest, alg) && s.digest[alg] === value));
}

/**
 * The artifact must be a subject of the statement (slsa-verifier's subject check). Fails with
 * `subject-digest-mismatch` saying what was expected and what the statement lists.
 */
export function assertSubjectDigest(statement: Statement, digest: Record<string, string>, artifactName?: string): StatementSubject {
  const subject = findSubjectByDigest(statement, digest);
  if (subject) return subject;
  const expected = Object.entries(digest).map(([alg, value]) => `${alg}:${value.toLowerCase()}`).join(' ');
  const shown = 5;
  const listed = statement.subject
    .slice(0, shown)
    .map((s) => `${JSON.stringify(s.name)} ${Object.entries(s.digest).map(([alg, value]) => `${alg}:${value}`).join(' ')}`)
    .join(', ');
  const more = statement.subject.length > shown ? ` and ${statement.subject.length - shown} more` : '';
  throw new VerificationError(
    'subject-digest-mismatch',
    `${artifactName ?? 'the artifact'} (${expected}) is not a subject of the statement; it lists ${listed}${more}`,
  );
}

function describe(value: unknown): string {
  if (value === undefined) return '(missing)';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function summarize(problems: string[]): string {
  const shown = problems.slice(0, MAX_REPORTED_PROBLEMS).join('; ');
  return problems.length > MAX_REPORTED_PROBLEMS ? `${shown}; and ${problems.length - MAX_REPORTED_PROBLEMS} more` : shown;
}
