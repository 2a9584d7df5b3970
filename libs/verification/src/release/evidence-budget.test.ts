import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planEvidenceHolding } from './evidence-budget';
import { evidenceReadByChecks } from './release-checks';

const MiB = 1024 * 1024;

describe('evidenceReadByChecks', () => {
  it('lists only what the checks read, provenance first, then checksums and signatures, then SBOMs', () => {
    const names = ['app.sbom.json', 'notes.txt', 'config.json', 'checksums.txt.sig', 'app', 'checksums.txt', 'b.intoto.jsonl', 'a.intoto.jsonl', 'checksums.txt.pem', 'unrelated.sig'];
    assert.deepEqual(evidenceReadByChecks(names, {}), [
      // The first *.intoto.jsonl in the release, as checkReleaseProvenance picks it.
      { name: 'b.intoto.jsonl', check: 'artifact-provenance' },
      { name: 'checksums.txt', check: 'checksums-signature' },
      { name: 'checksums.txt.pem', check: 'checksums-signature' },
      { name: 'checksums.txt.sig', check: 'checksums-signature' },
      { name: 'app.sbom.json', check: 'release-sbom' },
    ]);
  });

  it('follows the watchlist declarations', () => {
    const names = ['x.intoto.jsonl', 'prov.json', 'SHA256SUMS', 'SHA256SUMS.sigstore.json', 'bom.xml.json', 'app.sbom.json'];
    assert.deepEqual(evidenceReadByChecks(names, { provenanceAsset: 'prov.json', checksumsAsset: 'SHA256SUMS', sbomAssets: 'bom.*' }), [
      { name: 'prov.json', check: 'artifact-provenance' },
      { name: 'SHA256SUMS', check: 'checksums-signature' },
      { name: 'SHA256SUMS.sigstore.json', check: 'checksums-signature' },
      { name: 'bom.xml.json', check: 'release-sbom' },
    ]);
  });
});

describe('planEvidenceHolding', () => {
  const limits = { budgetBytes: 64 * MiB, maxFileBytes: 40 * MiB };

  it('holds the files the checks read, in order, until the budget is spent; the rest are reported', () => {
    const assets = [
      ...Array.from({ length: 20 }, (_, i) => ({ name: `data-${i}.json`, size: 40 * MiB })),
      { name: 'a.sbom.json', size: 40 * MiB },
      { name: 'b.sbom.json', size: 40 * MiB },
      { name: 'multiple.intoto.jsonl', size: 1 * MiB },
      { name: 'checksums.txt', size: 1024 },
      { name: 'checksums.txt.sigstore.json', size: 4096 },
    ];
    const plan = planEvidenceHolding(assets, {}, limits);
    assert.deepEqual([...plan.hold.keys()], ['multiple.intoto.jsonl', 'checksums.txt', 'checksums.txt.sigstore.json', 'a.sbom.json']);
    assert.deepEqual(plan.overBudget, [{ name: 'b.sbom.json', check: 'release-sbom', size: 40 * MiB }]);
    assert.deepEqual(plan.overFileLimit, []);
    const held = [...plan.hold.values()].reduce((a, b) => a + b, 0);
    assert.ok(held <= limits.budgetBytes);
    // Not read by any check: never held, whatever the extension suggests.
    assert.ok(![...plan.hold.keys()].some((n) => n.startsWith('data-')));
  });

  it('a file over the per-file limit is reported as such and costs no budget', () => {
    const plan = planEvidenceHolding([{ name: 'huge.intoto.jsonl', size: 41 * MiB }, { name: 'checksums.txt', size: 10 }], {}, limits);
    assert.deepEqual(plan.overFileLimit, [{ name: 'huge.intoto.jsonl', check: 'artifact-provenance', size: 41 * MiB }]);
    assert.deepEqual([...plan.hold.keys()], ['checksums.txt']);
  });

  it('a smaller file after one that did not fit still gets the room left', () => {
    const plan = planEvidenceHolding([{ name: 'p.intoto.jsonl', size: 10 }, { name: 'checksums.txt', size: 100 }, { name: 'checksums.txt.sig', size: 5 }], {}, { budgetBytes: 20, maxFileBytes: 1000 });
    assert.deepEqual([...plan.hold.keys()], ['p.intoto.jsonl', 'checksums.txt.sig']);
    assert.deepEqual(plan.overBudget.map((r) => r.name), ['checksums.txt']);
  });
});
