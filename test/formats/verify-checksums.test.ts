import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type BlobSigning, SigningKit } from '../kit/signing-kit';
import { RekorDouble } from '../support/rekor-double';
import { cli } from '../support/run-cli';
import { KIT_IDENTITY, KIT_ISSUER, Scratch, assertFailed, assertPassed } from './format-fixtures';

/**
 * `provwatch verify-checksums`: a release's signed checksums.txt (bundle as from v0.8.0 of
 * pbs-exporter, .pem/.sig before), then every release file it lists.
 */
const BINARY = Buffer.from('pbs-exporter linux amd64 binary\n');
const SBOM = Buffer.from('{"bomFormat":"CycloneDX"}\n');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const CHECKSUMS = Buffer.from(`${sha(BINARY)}  pbs-exporter_linux_amd64\n${sha(SBOM)}  pbs-exporter.sbom.json\n`);
const IDENTITY = ['--certificate-identity', KIT_IDENTITY, '--certificate-oidc-issuer', KIT_ISSUER];

const scratch = new Scratch();
const release = join(scratch.dir, 'release');
let root: string;
let signed: BlobSigning;
let rekor: RekorDouble;

before(async () => {
  const kit = await SigningKit.create();
  root = scratch.trustedRoot(kit);
  mkdirSync(release);
  writeFileSync(join(release, 'checksums.txt'), CHECKSUMS);
  writeFileSync(join(release, 'pbs-exporter_linux_amd64'), BINARY);
  writeFileSync(join(release, 'pbs-exporter.sbom.json'), SBOM);
  signed = await kit.signBlob(CHECKSUMS);
  rekor = await RekorDouble.start();
  rekor.add(signed.rekorApiEntry(), sha(CHECKSUMS));
});
after(() => rekor.close());

const file = (name: string) => join(release, name);
function verifyWithBundle(...files: string[]) {
  return cli(['verify-checksums', file('checksums.txt'), ...files, '--bundle', scratch.file('checksums.txt.sigstore.json', signed.bundle('0.3')), '--trusted-root', root, ...IDENTITY]);
}

describe('verify-checksums', () => {
  test('new format: bundle, then every file given matches', async () => {
    assertPassed(await verifyWithBundle(file('pbs-exporter_linux_amd64'), file('pbs-exporter.sbom.json')));
  });

  test('old format: .pem/.sig with the log entry found in Rekor', async () => {
    const result = await cli([
      'verify-checksums', file('checksums.txt'), file('pbs-exporter_linux_amd64'),
      '--certificate', scratch.file('checksums.txt.pem', signed.cosignPem),
      '--signature', scratch.file('checksums.txt.sig', signed.cosignSig),
      '--rekor-url', rekor.url, '--trusted-root', root, ...IDENTITY,
    ]);
    assertPassed(result);
  });

  test('a swapped binary is checksum-mismatch', async () => {
    const swapped = scratch.file('pbs-exporter_linux_amd64', 'attacker binary\n');
    assertFailed(await verifyWithBundle(swapped), 'checksum-mismatch');
  });

  test('a file the checksums do not list is checksum-entry-missing; so is a listed one left out with --require-all', async () => {
    assertFailed(await verifyWithBundle(scratch.file('extra.tar.gz', 'x')), 'checksum-entry-missing');
    const result = await cli(['verify-checksums', file('checksums.txt'), file('pbs-exporter_linux_amd64'), '--require-all', '--bundle', scratch.file('b.json', signed.bundle('0.3')), '--trusted-root', root, ...IDENTITY]);
    assertFailed(result, 'checksum-entry-missing');
  });

  test('a checksums file that is not the signed one fails on the signature, before any digest', async () => {
    const forged = scratch.file('checksums.txt', `${sha(Buffer.from('attacker binary\n'))}  pbs-exporter_linux_amd64\n`);
    const result = await cli(['verify-checksums', forged, scratch.file('pbs-exporter_linux_amd64', 'attacker binary\n'), '--bundle', scratch.file('b.json', signed.bundle('0.3')), '--trusted-root', root, ...IDENTITY]);
    assertFailed(result, 'subject-digest-mismatch', 'signature-invalid', 'tlog-entry-mismatch');
  });
});
