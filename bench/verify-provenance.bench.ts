/**
 * Verifies the real generic-v2.1.0 provenance N times in one process, with provwatch and with a
 * bare @sigstore/verify call on the same bundle, and prints both rates and their ratio.
 * Run: npm run bench  (N from BENCH_ITERATIONS, default 300).
 */
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SigstoreTrustRoot, parseProvenanceDocument, verifyArtifactProvenance } from '@provwatch/verification';
import { PUBLIC_GOOD_TRUSTED_ROOT, vector } from '../test/support/vectors';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 300);
const ARTIFACT = vector('slsa-github-generator', 'generic-v2.1.0', 'binary-linux-amd64-push-v14');
const PROVENANCE = readFileSync(`${ARTIFACT}.intoto.jsonl`);
const ROOT = readFileSync(PUBLIC_GOOD_TRUSTED_ROOT);
const SHA256 = createHash('sha256').update(readFileSync(ARTIFACT)).digest();

function rate(name: string, fn: () => void): number {
  for (let i = 0; i < Math.min(20, ITERATIONS); i++) fn(); // warm-up: JIT, caches
  const start = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) fn();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const perSecond = ITERATIONS / seconds;
  console.log(`${name.padEnd(34)} ${perSecond.toFixed(1).padStart(9)} verifications/s  (${((seconds / ITERATIONS) * 1000).toFixed(2)} ms each)`);
  return perSecond;
}

// Baseline: what a careful direct user of @sigstore/verify does, trust material built once.
const bareVerifier = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(JSON.parse(ROOT.toString()))), { tlogThreshold: 1, ctlogThreshold: 1 });
const bare = rate('bare @sigstore/verify', () => {
  const bundle = bundleFromJSON(JSON.parse(PROVENANCE.toString()));
  bareVerifier.verify(toSignedEntity(bundle), { extensions: { issuer: 'https://token.actions.githubusercontent.com' } });
});

// provwatch: full check (chain, tlog, signature, identity, statement, subjects, SLSA rules).
const trustRoot = SigstoreTrustRoot.fromJSON(ROOT);
const provwatch = rate('provwatch verify-artifact (full)', () => {
  const verdict = verifyArtifactProvenance({
    trustRoot,
    document: parseProvenanceDocument(PROVENANCE),
    artifacts: [{ name: 'binary-linux-amd64-push-v14', sha256: SHA256 }],
    expectations: { sourceUri: 'github.com/slsa-framework/example-package', sourceTag: 'v14' },
  });
  if (verdict.status !== 'pass') throw new Error(`benchmark input did not verify: ${verdict.code}: ${verdict.message}`);
});

console.log(`ratio provwatch / bare: ${(provwatch / bare).toFixed(2)} (>= 1.00 means provwatch is at least as fast)`);
