import { VerificationError } from '../verdict';

export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
const STATEMENT_TYPES = new Set(['https://in-toto.io/Statement/v0.1', 'https://in-toto.io/Statement/v1']);
/** SBOM attestations are the largest statements; provenance is a few KiB. */
export const MAX_STATEMENT_BYTES = 32 * 1024 * 1024;
const MAX_SUBJECTS = 10_000;

export interface StatementSubject {
  name: string;
  digest: Record<string, string>;
}

export interface Statement {
  _type: string;
  subject: StatementSubject[];
  predicateType: string;
  predicate: unknown;
}

/**
 * Parses the (already signature-verified) DSSE payload as an in-toto statement. The signer may
 * still be hostile: shapes are checked field by field and every problem is listed at once.
 */
export function parseStatement(payload: Uint8Array, payloadType: string): Statement {
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new VerificationError('statement-invalid', `payload type ${JSON.stringify(payloadType)} is not ${IN_TOTO_PAYLOAD_TYPE}`);
  }
  if (payload.length > MAX_STATEMENT_BYTES) throw new VerificationError('input-too-large', `statement is larger than ${MAX_STATEMENT_BYTES} bytes`);
  let doc: any;
  try {
    doc = JSON.parse(Buffer.from(payload).toString('utf8'));
  } catch {
    throw new VerificationError('statement-invalid', 'the statement is not JSON');
  }
  const problems: string[] = [];
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new VerificationError('statement-invalid', 'the statement is not a JSON object');
  if (!STATEMENT_TYPES.has(doc._type)) problems.push(`_type ${JSON.stringify(doc._type)} is not an in-toto statement type`);
  if (typeof doc.predicateType !== 'string' || doc.predicateType === '') problems.push('predicateType is missing');
  const subjects: StatementSubject[] = [];
  if (!Array.isArray(doc.subject) || doc.subject.length === 0) problems.push('subject must be a non-empty list');
  else if (doc.subject.length > MAX_SUBJECTS) problems.push(`more than ${MAX_SUBJECTS} subjects`);
  else {
    doc.subject.forEach((s: any, i: number) => {
      const digest = s?.digest;
      if (typeof digest !== 'object' || digest === null || Array.isArray(digest)) return problems.push(`subject[${i}].digest is not a map`);
      const clean: Record<string, string> = Object.create(null);
      for (const [alg, value] of Object.entries(digest)) {
        if (typeof value !== 'string') problems.push(`subject[${i}].digest.${alg} is not a string`);
        else clean[alg] = value.toLowerCase();
      }
      subjects.push({ name: typeof s.name === 'string' ? s.name : '', digest: clean });
      return undefined;
    });
  }
  if (problems.length > 0) throw new VerificationError('statement-invalid', `invalid in-toto statement: ${problems.join('; ')}`);
  return { _type: doc._type, subject: subjects, predicateType: doc.predicateType, predicate: doc.predicate };
}

/** The subject whose digest matches every algorithm given (sha256 in practice), if any. */
export function findSubjectByDigest(statement: Statement, digest: Record<string, string>): StatementSubject | undefined {
  const wanted = Object.entries(digest).map(([alg, value]) => [alg, value.toLowerCase()] as const);
  if (wanted.length === 0) return undefined;
  return statement.subject.find((s) => wanted.every(([alg, value]) => s.digest[alg] === value));
}

/** Fails with `subject-digest-mismatch` naming what was expected and what the statement lists. */
export function assertSubjectDigest(statement: Statement, digest: Record<string, string>, artifactName?: string): StatementSubject {
  const subject = findSubjectByDigest(statement, digest);
  if (subject) return subject;
  const listed = statement.subject
    .slice(0, 5)
    .map((s) => `${s.name || '(unnamed)'} sha256:${s.digest.sha256 ?? '?'}`)
    .join(', ');
  const what = Object.entries(digest).map(([a, v]) => `${a}:${v}`).join(' ');
  throw new VerificationError(
    'subject-digest-mismatch',
    `${artifactName ?? 'the artifact'} (${what}) is not a subject of the provenance; it lists ${listed}${statement.subject.length > 5 ? ', ...' : ''}`,
  );
}
