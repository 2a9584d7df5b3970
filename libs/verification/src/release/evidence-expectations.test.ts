import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { type Verdict, missingVerdict, passVerdict } from '../verdict';
import { applyEvidenceExpectation } from './evidence-expectations';

const absent = missingVerdict('no checksums.txt in the release');
const failed: Verdict = { status: 'fail', code: 'signature-invalid', message: 'bad signature', evidence: {} };
const base = { evidence: 'signed checksums', subject: 'v0.9.3' };

describe('evidence expectations', () => {
  test('declared evidence that is absent stays missing', () => {
    assert.deepEqual(applyEvidenceExpectation(absent, { ...base, declared: true }), absent);
    assert.deepEqual(applyEvidenceExpectation(absent, { ...base, declared: false, expect: 'required' }), absent);
  });

  test('evidence never declared nor published is not-applicable, never missing', () => {
    const verdict = applyEvidenceExpectation(absent, { ...base, declared: false });
    assert.equal(verdict.status, 'not-applicable');
    assert.equal(verdict.code, 'evidence-not-promised');
    assert.match(verdict.message, /never declared/);
  });

  test('evidence earlier releases carried and this one lacks is missing: evidence-regressed, naming the last release that had it', () => {
    const verdict = applyEvidenceExpectation(absent, { ...base, declared: false, lastCarriedBy: 'v0.9.2' });
    assert.equal(verdict.status, 'missing');
    assert.equal(verdict.code, 'evidence-regressed');
    assert.match(verdict.message, /^signed checksums published up to v0\.9\.2, absent from v0\.9\.3/);
    assert.equal(verdict.evidence.details?.lastCarriedBy, 'v0.9.2');
  });

  test('optional: absent is not-applicable even after earlier releases had it; present and wrong still fails', () => {
    const verdict = applyEvidenceExpectation(absent, { ...base, declared: true, expect: 'optional', lastCarriedBy: 'v0.9.2' });
    assert.equal(verdict.status, 'not-applicable');
    assert.deepEqual(applyEvidenceExpectation(failed, { ...base, declared: false, expect: 'optional' }), failed);
  });

  test('present evidence is judged as found whatever was declared', () => {
    const pass = passVerdict('ok', {});
    assert.deepEqual(applyEvidenceExpectation(pass, { ...base, declared: false }), pass);
    assert.deepEqual(applyEvidenceExpectation(failed, { ...base, declared: false }), failed);
  });

  test('off silences the check, failures included, and says what it found', () => {
    const verdict = applyEvidenceExpectation(failed, { ...base, declared: true, expect: 'off' });
    assert.equal(verdict.status, 'not-applicable');
    assert.equal(verdict.code, 'check-off');
    assert.match(verdict.message, /found: fail \(signature-invalid\)/);
  });
});
