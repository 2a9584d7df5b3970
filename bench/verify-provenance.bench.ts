/**
 * Verifies the real generic-v2.1.0 provenance N times in one process, with provwatch and with a
 * bare @sigstore/verify call on the same bundle, and prints both rates, their ratio, and the
 * crypto floor: the bare node:crypto signature checks one bundle cannot do without (the leaf's
 * signature by the Fulcio intermediate, the SCT, the SET, the checkpoint, the DSSE signature),
 * timed on inputs prepared once. Rounds alternate between the three so that a busy machine slows
 * all of them alike; the best round of each is reported, with the median beside it.
 * Run: npm run bench  (N per round from BENCH_ITERATIONS, default 300; BENCH_ROUNDS, default 3).
 */
import { bundleFromJSON } from '@sigstore/bundle';
import { X509Certificate as CoreCertificate, EXTENSION_OID_SCT, json as canonicalJson, dsse } from '@sigstore/core';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { Verifier, toSignedEntity, toTrustMaterial } from '@sigstore/verify';
import { type KeyObject, X509Certificate, createHash, createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SigstoreTrustRoot, exactly, parseProvenanceDocument, verifyArtifactProvenance, verifyBundle } from '@provwatch/verification';
import { oidValueBytes, tbsCertificateBytes, tbsWithoutExtension } from '../libs/verification/src/sigstore/der';
import { PUBLIC_GOOD_TRUSTED_ROOT, vector } from '../test/support/vectors';

const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 300);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const ARTIFACT = vector('slsa-github-generator', 'generic-v2.1.0', 'binary-linux-amd64-push-v14');
const PROVENANCE = readFileSync(`${ARTIFACT}.intoto.jsonl`);
const ROOT = readFileSync(PUBLIC_GOOD_TRUSTED_ROOT);
const SHA256 = createHash('sha256').update(readFileSync(ARTIFACT)).digest();

/** Seconds per call of `fn`, over ITERATIONS calls. */
function secondsPerCall(fn: () => void): number {
  const start = process.hrtime.bigint();
  for (let i = 0; i < ITERATIONS; i++) fn();
  return Number(process.hrtime.bigint() - start) / 1e9 / ITERATIONS;
}

// Baseline: what a careful direct user of @sigstore/verify does, trust material built once.
const bareVerifier = new Verifier(toTrustMaterial(TrustedRoot.fromJSON(JSON.parse(ROOT.toString()))), { tlogThreshold: 1, ctlogThreshold: 1 });
function bare(): void {
  const bundle = bundleFromJSON(JSON.parse(PROVENANCE.toString()));
  bareVerifier.verify(toSignedEntity(bundle), { extensions: { issuer: 'https://token.actions.githubusercontent.com' } });
}

// provwatch: full check (chain, tlog, signature, identity, statement, subjects, SLSA rules).
const trustRoot = SigstoreTrustRoot.fromJSON(ROOT);
function provwatch(): void {
  const verdict = verifyArtifactProvenance({
    trustRoot,
    document: parseProvenanceDocument(PROVENANCE),
    artifacts: [{ name: 'binary-linux-amd64-push-v14', sha256: SHA256 }],
    expectations: { sourceUri: 'github.com/slsa-framework/example-package', sourceTag: 'v14' },
  });
  if (verdict.status !== 'pass') throw new Error(`benchmark input did not verify: ${verdict.code}: ${verdict.message}`);
}

// provwatch's signature layer alone (what bare @sigstore/verify does, plus provwatch's own checks
// of the bundle's shape, chain policy and signer identity), for a like-for-like ratio.
const generatorIdentity = {
  subject: exactly('https://github.com/slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v2.1.0'),
  issuer: exactly('https://token.actions.githubusercontent.com'),
};
function provwatchBundle(): void {
  verifyBundle(PROVENANCE, { trustRoot, identity: generatorIdentity });
}

/** The signature checks of this bundle as bare node:crypto calls, every input prepared up front. */
function cryptoFloor(): { check: () => void; names: string[] } {
  const bundle = JSON.parse(PROVENANCE.toString());
  const root = JSON.parse(ROOT.toString());
  const checks: Array<{ name: string; args: [string | null, Buffer, KeyObject, Buffer] }> = [];

  const leafDer = Buffer.from(bundle.verificationMaterial.certificate.rawBytes, 'base64');
  const leaf = new X509Certificate(leafDer);
  const leafCore = CoreCertificate.parse(leafDer);
  const issuers = root.certificateAuthorities.flatMap((ca: any) => ca.certChain.certificates.map((c: any) => new X509Certificate(Buffer.from(c.rawBytes, 'base64'))));
  const issuer: X509Certificate = issuers.find((c: X509Certificate) => leaf.verify(c.publicKey));
  checks.push({ name: 'leaf by intermediate', args: [leafCore.signatureAlgorithm, tbsCertificateBytes(leafDer), issuer.publicKey, leafCore.signatureValue] });

  const sct = leafCore.extSCT!.signedCertificateTimestamps[0];
  const ctlog = root.ctlogs.find((l: any) => Buffer.from(l.logId.keyId, 'base64').equals(sct.logID));
  const precertTbs = tbsWithoutExtension(tbsCertificateBytes(leafDer), oidValueBytes(EXTENSION_OID_SCT))!;
  const issuerKeyHash = createHash('sha256').update(issuer.publicKey.export({ type: 'spki', format: 'der' })).digest();
  const u16 = (n: number) => Buffer.from([n >> 8, n & 0xff]);
  const sctSigned = Buffer.concat([
    Buffer.from([sct.version, 0]),
    sct.timestamp,
    u16(1),
    issuerKeyHash,
    Buffer.from([precertTbs.length >> 16, (precertTbs.length >> 8) & 0xff, precertTbs.length & 0xff]),
    precertTbs,
    u16(sct.extensions.length),
    sct.extensions,
  ]);
  checks.push({ name: 'SCT', args: [sct.algorithm, sctSigned, keyOf(ctlog.publicKey.rawBytes), sct.signature] });

  const entry = bundle.verificationMaterial.tlogEntries[0];
  const tlog = root.tlogs.find((l: any) => l.logId.keyId === entry.logId.keyId);
  const tlogKey = keyOf(tlog.publicKey.rawBytes);
  const setPayload = canonicalJson.canonicalize({
    body: entry.canonicalizedBody,
    integratedTime: Number(entry.integratedTime),
    logIndex: Number(entry.logIndex),
    logID: Buffer.from(entry.logId.keyId, 'base64').toString('hex'),
  });
  checks.push({ name: 'SET', args: ['sha256', Buffer.from(setPayload), tlogKey, Buffer.from(entry.inclusionPromise.signedEntryTimestamp, 'base64')] });

  const envelope: string = entry.inclusionProof.checkpoint.envelope;
  const split = envelope.indexOf('\n\n');
  const noteSignature = Buffer.from(/\u2014 \S+ (\S+)\n/.exec(envelope.slice(split + 2))![1], 'base64').subarray(4);
  checks.push({ name: 'checkpoint', args: ['sha256', Buffer.from(envelope.slice(0, split + 1)), tlogKey, noteSignature] });

  const env = bundle.dsseEnvelope;
  const pae = dsse.preAuthEncoding(env.payloadType, Buffer.from(env.payload, 'base64'));
  checks.push({ name: 'DSSE', args: ['sha256', pae, leaf.publicKey, Buffer.from(env.signatures[0].sig, 'base64')] });

  for (const c of checks) if (!verify(...c.args)) throw new Error(`crypto floor: the ${c.name} signature does not verify`);
  return { check: () => checks.forEach((c) => verify(...c.args)), names: checks.map((c) => c.name) };
}

function keyOf(rawBytes: string): KeyObject {
  return createPublicKey({ key: Buffer.from(rawBytes, 'base64'), format: 'der', type: 'spki' });
}

const floor = cryptoFloor();
const runs = { bare: [] as number[], provwatch: [] as number[], bundle: [] as number[], floor: [] as number[] };
for (let i = 0; i < Math.min(20, ITERATIONS); i++) {
  bare();
  provwatch();
  provwatchBundle();
  floor.check();
} // warm-up: JIT, caches
for (let round = 0; round < ROUNDS; round++) {
  runs.bare.push(secondsPerCall(bare));
  runs.provwatch.push(secondsPerCall(provwatch));
  runs.bundle.push(secondsPerCall(provwatchBundle));
  runs.floor.push(secondsPerCall(floor.check));
}

const best = (xs: number[]) => Math.min(...xs);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function line(name: string, xs: number[]): void {
  const ms = (s: number) => (s * 1000).toFixed(2);
  console.log(`${name.padEnd(34)} ${(1 / best(xs)).toFixed(1).padStart(9)} verifications/s  (best ${ms(best(xs))} ms, median ${ms(median(xs))} ms each; ${ROUNDS} rounds of ${ITERATIONS})`);
}
line('bare @sigstore/verify', runs.bare);
line('provwatch verify-artifact (full)', runs.provwatch);
line('provwatch verifyBundle (signature)', runs.bundle);
line('crypto floor', runs.floor);
console.log(`crypto floor = ${floor.names.join(' + ')} (node:crypto verify, inputs prepared once)`);
console.log(`ratio provwatch / bare: ${(best(runs.bare) / best(runs.provwatch)).toFixed(2)} (>= 1.00 means provwatch is at least as fast)`);
console.log(`ratio provwatch signature layer / bare: ${(best(runs.bare) / best(runs.bundle)).toFixed(2)} (like for like)`);
console.log(`provwatch / crypto floor: ${(best(runs.provwatch) / best(runs.floor)).toFixed(2)}x the floor's time`);
