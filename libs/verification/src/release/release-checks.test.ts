import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { before, describe, test } from 'node:test';
import { SigningKit } from '../../../../test/kit/signing-kit';
import { PBS_EXPORTER_ERAS, buildEraRelease } from '../../../../test/support/pbs-exporter-eras';
import { PUBLIC_GOOD_TRUSTED_ROOT, vector } from '../../../../test/support/vectors';
import type { RekorLogEntry, TlogSearchResult } from '../rekor';
import { SigstoreTrustRoot, exactly, matching } from '../sigstore';
import { VerificationError } from '../verdict';
import { type ReleaseAssetInput, checkReleaseChecksums, checkReleaseProvenance, checkReleaseSboms, legacyProvenanceSearchDigest } from './release-checks';

/** The real generator v2.1.0 output as a GitHub release would hold it: assets named as the subjects. */
const trustRoot = SigstoreTrustRoot.fromJSON(readFileSync(PUBLIC_GOOD_TRUSTED_ROOT));
const BINARY = readFileSync(vector('slsa-github-generator', 'generic-v2.1.0', 'binary-linux-amd64-push-v14'));
const PROVENANCE = readFileSync(vector('slsa-github-generator', 'generic-v2.1.0', 'binary-linux-amd64-push-v14.intoto.jsonl'));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const asset = (name: string, bytes: Buffer, keep = false): ReleaseAssetInput => ({ name, sha256: sha(bytes), bytes: keep ? bytes : undefined });

const base = {
  trustRoot,
  identity: { subject: exactly('unused'), issuer: exactly('https://token.actions.githubusercontent.com') },
  expectations: { sourceUri: 'github.com/slsa-framework/example-package', sourceTag: 'v14' },
};
const release = (assets: ReleaseAssetInput[]) => ({ ...base, assets });

describe('release provenance', () => {
  test('passes when the provenance covers the release asset', () => {
    const verdict = checkReleaseProvenance(release([asset('gha_generic-binary-linux-amd64-v14', BINARY), asset('multiple.intoto.jsonl', PROVENANCE, true)]));
    assert.equal(verdict.status, 'pass', verdict.message);
    assert.deepEqual(verdict.evidence.details?.uncoveredAssets, []);
  });

  test('an asset swapped after the build fails, naming it', () => {
    const swapped = Buffer.from(BINARY);
    swapped[100] ^= 1;
    const verdict = checkReleaseProvenance(release([asset('gha_generic-binary-linux-amd64-v14', swapped), asset('multiple.intoto.jsonl', PROVENANCE, true)]));
    assert.equal(verdict.status, 'fail');
    assert.equal(verdict.code, 'subject-digest-mismatch');
    assert.match(verdict.message, /gha_generic-binary-linux-amd64-v14/);
  });

  test('no provenance asset is missing; provenance naming no asset fails; extra assets are listed as uncovered', () => {
    assert.equal(checkReleaseProvenance(release([asset('gha_generic-binary-linux-amd64-v14', BINARY)])).status, 'missing');
    const none = checkReleaseProvenance(release([asset('other-binary', Buffer.from('other bytes')), asset('multiple.intoto.jsonl', PROVENANCE, true)]));
    assert.equal(none.code, 'subject-digest-mismatch');
    const extra = checkReleaseProvenance(release([asset('gha_generic-binary-linux-amd64-v14', BINARY), asset('README.md', Buffer.from('x')), asset('multiple.intoto.jsonl', PROVENANCE, true)]));
    assert.deepEqual(extra.evidence.details?.uncoveredAssets, ['README.md']);
  });

  test('an asset renamed after the build is covered by the subject with its bytes, and the evidence says which', () => {
    const verdict = checkReleaseProvenance(release([asset('binary-linux-amd64-push-v14', BINARY), asset('multiple.intoto.jsonl', PROVENANCE, true)]));
    assert.equal(verdict.status, 'pass', verdict.message);
    assert.deepEqual(verdict.evidence.details?.coverage, { 'binary-linux-amd64-push-v14': { subject: 'gha_generic-binary-linux-amd64-v14', matchedBy: 'digest' } });
    assert.deepEqual(verdict.evidence.details?.uncoveredAssets, []);
  });

  test("forged: other bytes under the subject's name fail even when another asset carries the real bytes", () => {
    const swapped = Buffer.from(BINARY);
    swapped[7] ^= 0x20;
    const verdict = checkReleaseProvenance(
      release([asset('gha_generic-binary-linux-amd64-v14', swapped), asset('renamed-copy', BINARY), asset('multiple.intoto.jsonl', PROVENANCE, true)]),
    );
    assert.equal(verdict.status, 'fail');
    assert.equal(verdict.code, 'subject-digest-mismatch');
    assert.match(verdict.message, /gha_generic-binary-linux-amd64-v14 is sha256:/);
  });

  test('the wrong tag for the release fails', () => {
    const verdict = checkReleaseProvenance({ ...release([asset('gha_generic-binary-linux-amd64-v14', BINARY), asset('multiple.intoto.jsonl', PROVENANCE, true)]), expectations: { sourceUri: 'github.com/slsa-framework/example-package', sourceTag: 'v15' } });
    assert.equal(verdict.code, 'source-tag-mismatch');
  });
});

describe('release SBOMs', () => {
  test('absent is missing; without verified provenance it is undecided, never pass', () => {
    const provenance = checkReleaseProvenance(release([asset('gha_generic-binary-linux-amd64-v14', BINARY), asset('multiple.intoto.jsonl', PROVENANCE, true)]));
    assert.equal(checkReleaseSboms(release([]), provenance).status, 'missing');
    const sbom = asset('x.sbom.json', Buffer.from('{}'), true);
    const failedProvenance = { ...provenance, status: 'fail' as const, code: 'signature-invalid' as const };
    assert.equal(checkReleaseSboms(release([sbom]), failedProvenance).status, 'error');
    // An SBOM the provenance does not name is not the one the build produced.
    assert.equal(checkReleaseSboms(release([sbom]), provenance).code, 'subject-digest-mismatch');
  });
});

/**
 * pbs-exporter v0.6.4 (era B, kit-signed): generator v2.0.0 bare envelopes and a .pem/.sig
 * checksums signature, whose only log evidence is a Rekor search by digest. A search that could
 * not be made is undecided; only a log that answered without the entry may fail the check.
 */
describe('legacy evidence and the transparency log search', () => {
  let kitRoot: SigstoreTrustRoot;
  let legacy: ReturnType<typeof release>;
  let logged: Map<string, RekorLogEntry[]>;
  const answered = (sha256Hex: string): TlogSearchResult => ({ entries: logged.get(sha256Hex) ?? [], truncated: false });
  const outage = (): never => {
    throw new VerificationError('tlog-unavailable', 'cannot reach Rekor at http://127.0.0.1:9: ECONNREFUSED');
  };
  const checks = (tlogSearch?: (sha: string) => TlogSearchResult | undefined) => ({ ...legacy, tlogSearch });

  before(async () => {
    const kit = await SigningKit.create();
    kitRoot = SigstoreTrustRoot.fromJSON(kit.trustedRoot());
    const built = await buildEraRelease(kit, PBS_EXPORTER_ERAS.find((e) => e.era === 'B')!);
    logged = new Map();
    for (const { entry, digests } of built.rekorEntries) for (const d of digests) logged.set(d, [...(logged.get(d) ?? []), ...(Object.values(entry) as RekorLogEntry[])]);
    legacy = {
      trustRoot: kitRoot,
      identity: { subject: matching('^https://github\\.com/natrontech/pbs-exporter/\\.github/workflows/release\\.yml@refs/tags/v[0-9.]+$'), issuer: exactly('https://token.actions.githubusercontent.com') },
      expectations: { sourceUri: 'github.com/natrontech/pbs-exporter', sourceTag: 'v0.6.4' },
      assets: built.release.assets.map((a) => ({ name: a.name, sha256: sha(a.bytes), bytes: a.bytes })),
    };
  });

  test('the log answering with the entries: provenance and checksums pass', () => {
    const provenance = checkReleaseProvenance(checks(answered));
    assert.equal(provenance.status, 'pass', provenance.message);
    const checksums = checkReleaseChecksums(checks(answered));
    assert.equal(checksums.status, 'pass', checksums.message);
  });

  test('the log unreachable: both are error / tlog-unavailable with the cause, never fail', () => {
    for (const verdict of [checkReleaseProvenance(checks(outage)), checkReleaseChecksums(checks(outage))]) {
      assert.deepEqual([verdict.status, verdict.code], ['error', 'tlog-unavailable'], verdict.message);
      assert.match(verdict.message, /ECONNREFUSED/);
    }
  });

  test('the digest never searched: error / tlog-unavailable, not tlog-entry-missing', () => {
    for (const verdict of [checkReleaseProvenance(checks(() => undefined)), checkReleaseProvenance(checks(undefined)), checkReleaseChecksums(checks(() => undefined))]) {
      assert.deepEqual([verdict.status, verdict.code], ['error', 'tlog-unavailable'], verdict.message);
    }
  });

  test('the log is searched by the asset the provenance covers, not by the first file of the release', () => {
    const notes = Buffer.from('release notes\n');
    const assets = [{ name: 'README.md', sha256: sha(notes), bytes: notes }, ...legacy.assets];
    const digest = legacyProvenanceSearchDigest({ assets, provenanceAsset: 'multiple.intoto.jsonl' });
    assert.equal(digest, legacy.assets.find((a) => a.name.endsWith('_darwin_amd64.tar.gz'))!.sha256);
    const verdict = checkReleaseProvenance({ ...legacy, assets, tlogSearch: (s) => (s === digest ? answered(s) : undefined) });
    assert.equal(verdict.status, 'pass', verdict.message);
    // A provenance bundle carries its own entry: nothing to search.
    assert.equal(legacyProvenanceSearchDigest({ assets: [asset('gha_generic-binary-linux-amd64-v14', BINARY), asset('multiple.intoto.jsonl', PROVENANCE, true)] }), undefined);
  });

  test('forged: the log answered and holds no entry for the envelope, which stays a failure', () => {
    const verdict = checkReleaseProvenance(checks(() => ({ entries: [], truncated: false })));
    assert.deepEqual([verdict.status, verdict.code], ['fail', 'tlog-entry-missing'], verdict.message);
  });
});
