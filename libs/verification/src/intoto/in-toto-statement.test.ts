import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { vector } from '../../../../test/support/vectors';
import { VerificationError } from '../verdict';
import { subjectMatchesArtifact } from '../sigstore/artifact';
import { MAX_STATEMENT_BYTES, type Statement, assertSubjectDigest, findSubjectByDigest, parseStatement } from './in-toto-statement';

const TYPE = 'application/vnd.in-toto+json';
const DIR = vector('slsa-github-generator', 'generic-v2.1.0');
const A = 'a'.repeat(64);
const bytes = (doc: unknown) => Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc));
const statement = (subject: unknown, extra: Record<string, unknown> = {}) =>
  bytes({ _type: 'https://in-toto.io/Statement/v1', subject, predicateType: 'https://example.test/p', predicate: {}, ...extra });

function failsWith(code: string, fn: () => unknown, message?: RegExp) {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof VerificationError, `expected VerificationError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}

/** The DSSE payload of a real generator v2.1.0 bundle, as the bundle verifier hands it over. */
function payloadOf(file: string): { payload: Buffer; payloadType: string } {
  const bundle = JSON.parse(readFileSync(`${DIR}/${file}`, 'utf8'));
  return { payload: Buffer.from(bundle.dsseEnvelope.payload, 'base64'), payloadType: bundle.dsseEnvelope.payloadType };
}

describe('in-toto statements', () => {
  test('a real slsa-github-generator statement parses, and its subject is the released binary', () => {
    const { payload, payloadType } = payloadOf('binary-linux-amd64-push-v14.intoto.jsonl');
    const parsed = parseStatement(payload, payloadType);
    assert.equal(parsed._type, 'https://in-toto.io/Statement/v0.1');
    assert.equal(parsed.predicateType, 'https://slsa.dev/provenance/v0.2');
    const sha256 = createHash('sha256').update(readFileSync(`${DIR}/binary-linux-amd64-push-v14`)).digest('hex');
    assert.equal(assertSubjectDigest(parsed, { sha256 }).name, 'gha_generic-binary-linux-amd64-v14');
    assert.equal(findSubjectByDigest(parsed, { sha256: sha256.toUpperCase() })?.name, 'gha_generic-binary-linux-amd64-v14');
  });

  test('a modified artifact (one byte flipped) is subject-digest-mismatch, naming expected and listed digests', () => {
    const { payload, payloadType } = payloadOf('binary-linux-amd64-push-v14.intoto.jsonl');
    const binary = readFileSync(`${DIR}/binary-linux-amd64-push-v14`);
    binary[binary.length >> 1] ^= 0x01;
    const sha256 = createHash('sha256').update(binary).digest('hex');
    failsWith('subject-digest-mismatch', () => assertSubjectDigest(parseStatement(payload, payloadType), { sha256 }, 'binary-linux-amd64-push-v14'),
      new RegExp(`binary-linux-amd64-push-v14 \\(sha256:${sha256}\\).*"gha_generic-binary-linux-amd64-v14" sha256:376e7e01`));
  });

  test('payload type and statement type', () => {
    failsWith('statement-invalid', () => parseStatement(statement([{ name: 'a', digest: { sha256: A } }]), 'application/json'), /payload type/);
    failsWith('statement-invalid', () => parseStatement(statement([{ name: 'a', digest: { sha256: A } }], { _type: 'https://in-toto.io/Statement/v2' }), TYPE), /_type/);
    assert.equal(parseStatement(statement([{ name: 'a', digest: { sha256: A } }], { _type: 'https://in-toto.io/Statement/v0.1' }), TYPE).subject.length, 1);
  });

  test('every problem is listed at once', () => {
    const doc = { _type: 'x', predicateType: '', subject: [{ digest: { sha256: 'zz' } }, 'str', { name: 'b', digest: {} }], predicate: [] };
    failsWith('statement-invalid', () => parseStatement(bytes(doc), TYPE), /_type.*predicateType.*subject\[0\]\.name.*subject\[0\]\.digest\.sha256: not 64 hex.*subject\[1\].*subject\[2\]\.digest is empty.*predicate/);
  });

  test('hostile JSON: not JSON, not UTF-8, not an object, too large, too many subjects', () => {
    failsWith('statement-invalid', () => parseStatement(bytes('{"_type":'), TYPE), /not JSON/);
    failsWith('statement-invalid', () => parseStatement(Buffer.from([0x7b, 0xff, 0x7d]), TYPE), /UTF-8/);
    failsWith('statement-invalid', () => parseStatement(bytes('[1]'), TYPE), /not a JSON object/);
    failsWith('statement-invalid', () => parseStatement(bytes('null'), TYPE), /not a JSON object/);
    failsWith('input-too-large', () => parseStatement(new Uint8Array(MAX_STATEMENT_BYTES + 1), TYPE));
    failsWith('statement-invalid', () => parseStatement(statement(Array.from({ length: 10_001 }, () => ({ name: 'a', digest: { sha256: A } }))), TYPE), /more than/);
  });

  test('hostile JSON: __proto__ and inherited names never stand in for real fields', () => {
    // A digest smuggled through __proto__ must not be found as the subject's sha256.
    const smuggled = `{"_type":"https://in-toto.io/Statement/v1","predicateType":"p","subject":[{"name":"a","digest":{"__proto__":{"sha256":"${A}"},"sha512":"${'b'.repeat(128)}"}}]}`;
    failsWith('statement-invalid', () => parseStatement(bytes(smuggled), TYPE), /__proto__/);
    // Fields that only exist on Object.prototype are missing, not functions.
    failsWith('statement-invalid', () => parseStatement(bytes('{"__proto__":{"_type":"https://in-toto.io/Statement/v1"},"predicateType":"p","subject":[]}'), TYPE), /_type \(missing\)/);
    const parsed = parseStatement(statement([{ name: 'a', digest: { sha256: A, constructor: 'x' } }]), TYPE);
    assert.equal(Object.getPrototypeOf(parsed.subject[0].digest), null);
    assert.equal(findSubjectByDigest(parsed, { toString: 'x' } as Record<string, string>), undefined);
    assert.equal(({} as Record<string, unknown>).sha256, undefined, 'Object.prototype untouched');
  });

  test('digest values: hex algorithms are checked and lowercased, others kept as written', () => {
    const parsed = parseStatement(statement([{ name: 'a', digest: { sha256: A.toUpperCase(), gitCommit: 'c'.repeat(40), dirHash1: 'Opaque' } }]), TYPE);
    assert.deepEqual({ ...parsed.subject[0].digest }, { sha256: A, gitCommit: 'c'.repeat(40), dirHash1: 'Opaque' });
    failsWith('statement-invalid', () => parseStatement(statement([{ name: 'a', digest: { sha1: A } }]), TYPE), /sha1: not 40 hex/);
  });

  test('findSubjectByDigest needs every algorithm given to match', () => {
    const parsed = parseStatement(statement([{ name: 'a', digest: { sha256: A } }, { name: 'b', digest: { sha256: 'b'.repeat(64), sha512: 'c'.repeat(128) } }]), TYPE);
    assert.equal(findSubjectByDigest(parsed, { sha256: 'b'.repeat(64) })?.name, 'b');
    assert.equal(findSubjectByDigest(parsed, { sha256: A, sha512: 'c'.repeat(128) }), undefined);
    assert.equal(findSubjectByDigest(parsed, {}), undefined);
  });
});

describe('subjects matched by the algorithms they name (npm provenance: sha512 only)', () => {
  const findSubjectByArtifact = (statement: Statement, d: Record<string, Buffer>) => statement.subject.find((s) => subjectMatchesArtifact(s.digest, { digests: d }));
  const bytes = Buffer.from('package tarball');
  const digests = {
    sha256: createHash('sha256').update(bytes).digest(),
    sha384: createHash('sha384').update(bytes).digest(),
    sha512: createHash('sha512').update(bytes).digest(),
  };
  const statementWith = (...subjectDigests: Array<Record<string, string>>) =>
    ({ _type: 'https://in-toto.io/Statement/v1', predicateType: 'x', predicate: {}, subject: subjectDigests.map((digest, i) => ({ name: `s${i}`, digest })) }) as Statement;

  test('a sha512-only subject matches the artifact hashed with sha512; so does a subject listing several that agree', () => {
    assert.equal(findSubjectByArtifact(statementWith({ sha512: digests.sha512.toString('hex') }), digests)?.name, 's0');
    assert.equal(findSubjectByArtifact(statementWith({ sha256: digests.sha256.toString('hex'), sha512: digests.sha512.toString('hex').toUpperCase() }), digests)?.name, 's0');
    assert.equal(findSubjectByArtifact(statementWith({ sha512: digests.sha512.toString('hex') }), { sha512: digests.sha512 })?.name, 's0', 'a digest-only artifact');
  });

  test('forged: one agreeing algorithm does not excuse a disagreeing one; other algorithms never match', () => {
    assert.equal(findSubjectByArtifact(statementWith({ sha256: digests.sha256.toString('hex'), sha512: 'f'.repeat(128) }), digests), undefined);
    assert.equal(findSubjectByArtifact(statementWith({ sha1: createHash('sha1').update(bytes).digest('hex') }), digests), undefined);
    assert.equal(findSubjectByArtifact(statementWith({ sha512: digests.sha512.toString('hex') }), { sha256: digests.sha256 }), undefined, 'nothing shared');
  });
});
