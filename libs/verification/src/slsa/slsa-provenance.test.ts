import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { vector } from '../../../../test/support/vectors';
import { parseStatement, type Statement } from '../intoto';
import { leafCertificate, parseBundle, signerEvidenceFromCertificate } from '../sigstore';
import { type SignerEvidence, VerificationError } from '../verdict';
import { verifySlsaProvenance } from './slsa-provenance';
import { versionedTagMatches } from './versioned-tag';

/** Statement and signer as the bundle verifier hands them over, from real provenance files. */
function load(path: string): { statement: Statement; signer: SignerEvidence } {
  const bundle = parseBundle(readFileSync(path));
  assert.equal(bundle.content.$case, 'dsseEnvelope');
  const envelope = (bundle.content as any).dsseEnvelope;
  return {
    statement: parseStatement(Buffer.from(envelope.payload), envelope.payloadType),
    signer: signerEvidenceFromCertificate(leafCertificate(bundle)!),
  };
}

const PUSH = load(vector('slsa-github-generator', 'generic-v2.1.0', 'binary-linux-amd64-push-v14.intoto.jsonl'));
const DISPATCH = load(vector('slsa-github-generator', 'generic-v2.1.0', 'binary-linux-amd64-workflow_dispatch.intoto.jsonl'));
const BRANCH_BUILDER = load(vector('slsa-verifier-bundles', 'valid-v0.3.intoto.sigstore'));
const SOURCE = 'github.com/slsa-framework/example-package';

function rejects(fn: () => unknown, code: string) {
  assert.throws(fn, (err: unknown) => err instanceof VerificationError && err.code === code, `expected ${code}`);
}

describe('SLSA rules on real generator v2.1.0 provenance', () => {
  test('tag build: facts come from certificate and provenance', () => {
    const facts = verifySlsaProvenance(PUSH.statement, PUSH.signer, { sourceUri: SOURCE, sourceTag: 'v14' });
    assert.equal(facts.builderId, 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v2.1.0');
    assert.equal(facts.sourceUri, 'https://github.com/slsa-framework/example-package');
    assert.equal(facts.sourceRef, 'refs/tags/v14');
    assert.equal(facts.sourceDigest, '4d329c75e7ec1725f7c9ce917a8799d408d06be3');
  });

  test('versioned tag: v14 is semver shorthand for v14.0.0', () => {
    verifySlsaProvenance(PUSH.statement, PUSH.signer, { sourceUri: SOURCE, sourceVersionedTag: 'v14' });
    verifySlsaProvenance(PUSH.statement, PUSH.signer, { sourceUri: SOURCE, sourceVersionedTag: 'v14.0' });
    rejects(() => verifySlsaProvenance(PUSH.statement, PUSH.signer, { sourceUri: SOURCE, sourceVersionedTag: 'v13' }), 'source-versioned-tag-mismatch');
    rejects(() => verifySlsaProvenance(DISPATCH.statement, DISPATCH.signer, { sourceUri: SOURCE, sourceVersionedTag: 'v14' }), 'source-versioned-tag-mismatch');
  });

  test('branch build', () => {
    verifySlsaProvenance(DISPATCH.statement, DISPATCH.signer, { sourceUri: SOURCE, sourceBranch: 'main' });
    rejects(() => verifySlsaProvenance(DISPATCH.statement, DISPATCH.signer, { sourceUri: SOURCE, sourceTag: 'v14' }), 'source-tag-mismatch');
    rejects(() => verifySlsaProvenance(PUSH.statement, PUSH.signer, { sourceUri: SOURCE, sourceBranch: 'main' }), 'source-branch-mismatch');
  });

  test('source repository: given as github.com/x/y, https://github.com/x/y or with .git', () => {
    for (const uri of [SOURCE, `https://${SOURCE}`, `${SOURCE}.git`]) verifySlsaProvenance(PUSH.statement, PUSH.signer, { sourceUri: uri });
    rejects(() => verifySlsaProvenance(PUSH.statement, PUSH.signer, { sourceUri: 'github.com/slsa-framework/example-package-fork' }), 'source-mismatch');
  });

  test('builder id flag: path or path@ref', () => {
    const path = 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml';
    verifySlsaProvenance(PUSH.statement, PUSH.signer, { sourceUri: SOURCE, builderId: path });
    verifySlsaProvenance(PUSH.statement, PUSH.signer, { sourceUri: SOURCE, builderId: `${path}@refs/tags/v2.1.0` });
    rejects(() => verifySlsaProvenance(PUSH.statement, PUSH.signer, { sourceUri: SOURCE, builderId: `${path}@refs/tags/v2.0.0` }), 'builder-untrusted');
  });

  test('a builder at a branch is untrusted (slsa-verifier testdata built at refs/heads/main)', () => {
    rejects(() => verifySlsaProvenance(BRANCH_BUILDER.statement, BRANCH_BUILDER.signer, { sourceUri: 'github.com/slsa-framework/example-package' }), 'builder-untrusted');
  });

  test('certificate and provenance must agree', () => {
    const swappedRef = structuredClone(PUSH.statement) as any;
    swappedRef.predicate.invocation.configSource.uri = 'git+https://github.com/slsa-framework/example-package@refs/tags/v15';
    swappedRef.predicate.materials[0].uri = swappedRef.predicate.invocation.configSource.uri;
    rejects(() => verifySlsaProvenance(swappedRef, PUSH.signer, { sourceUri: SOURCE }), 'source-mismatch');

    const otherBuilder = structuredClone(PUSH.statement) as any;
    otherBuilder.predicate.builder.id = 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@refs/tags/v2.1.0';
    rejects(() => verifySlsaProvenance(otherBuilder, PUSH.signer, { sourceUri: SOURCE }), 'builder-untrusted');

    const otherCommit = structuredClone(PUSH.statement) as any;
    otherCommit.predicate.invocation.configSource.digest.sha1 = 'f'.repeat(40);
    otherCommit.predicate.materials[0].digest.sha1 = 'f'.repeat(40);
    rejects(() => verifySlsaProvenance(otherCommit, PUSH.signer, { sourceUri: SOURCE }), 'source-mismatch');

    const inconsistent = structuredClone(PUSH.statement) as any;
    inconsistent.predicate.materials[0].uri = 'git+https://github.com/attacker/example-package@refs/tags/v14';
    rejects(() => verifySlsaProvenance(inconsistent, PUSH.signer, { sourceUri: SOURCE }), 'provenance-invalid');
  });

  test('a v1 predicate (BYOB shape) is read from buildDefinition and runDetails', () => {
    const builder = 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/delegator_generic_slsa3.yml@refs/tags/v2.1.0';
    const statement: Statement = {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'a', digest: { sha256: 'ab'.repeat(32) } }],
      predicateType: 'https://slsa.dev/provenance/v1',
      predicate: {
        buildDefinition: {
          buildType: 'https://github.com/slsa-framework/slsa-github-generator/delegator-generic@v0',
          externalParameters: { workflow: { repository: 'https://github.com/natrontech/pbs-exporter', ref: 'refs/tags/v0.9.0', path: '.github/workflows/release.yml' } },
          resolvedDependencies: [{ uri: 'git+https://github.com/natrontech/pbs-exporter@refs/tags/v0.9.0', digest: { gitCommit: 'c'.repeat(40) } }],
        },
        runDetails: { builder: { id: builder } },
      },
    };
    const signer: SignerEvidence = {
      identity: builder,
      issuer: 'https://token.actions.githubusercontent.com',
      extensions: { sourceRepositoryURI: 'https://github.com/natrontech/pbs-exporter', sourceRepositoryRef: 'refs/tags/v0.9.0', sourceRepositoryDigest: 'c'.repeat(40) },
    };
    const facts = verifySlsaProvenance(statement, signer, { sourceUri: 'github.com/natrontech/pbs-exporter', sourceVersionedTag: 'v0.9' });
    assert.equal(facts.sourceRef, 'refs/tags/v0.9.0');
    rejects(() => verifySlsaProvenance(statement, signer, { sourceUri: 'github.com/natrontech/pbs-exporter', sourceTag: 'v0.8.0' }), 'source-tag-mismatch');
  });
});

describe('versioned tags (slsa-verifier --source-versioned-tag)', () => {
  test('matches', () => {
    assert.ok(versionedTagMatches('v1', 'v1.2.3'));
    assert.ok(versionedTagMatches('v1.2', 'v1.2.9'));
    assert.ok(versionedTagMatches('v1.2.3', 'v1.2.3'));
    assert.ok(versionedTagMatches('v1.2.3-rc.1', 'v1.2.3-rc.1'));
  });
  test('does not match', () => {
    assert.ok(!versionedTagMatches('v1', 'v2.0.0'));
    assert.ok(!versionedTagMatches('v1.2', 'v1.3.0'));
    assert.ok(!versionedTagMatches('v1.2.3', 'v1.2.4'));
    assert.ok(!versionedTagMatches('v1.2.3', 'v1.2.3-rc.1'));
    assert.ok(!versionedTagMatches('v1', 'release-1'));
    assert.ok(!versionedTagMatches('1.2.3', 'v1.2.3'));
  });
});
