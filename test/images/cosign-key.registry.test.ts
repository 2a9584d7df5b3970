import { strict as assert } from 'node:assert';
import { type KeyObject, createHash, generateKeyPairSync, sign } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { dsseBody, hashedRekordBody } from '../kit/rekor-entry';
import { SigningKit, inTotoStatement, simpleSigningPayload } from '../kit/signing-kit';
import { Scratch, assertFailed, assertPassed } from '../formats/format-fixtures';
import { type TestRegistry, startRegistry } from '../support/registry';
import { CYCLONEDX, type CosignLayerInput, DSSE, IDENTITY, SIMPLE_SIGNING, pushCosignManifest, pushMultiArchImage } from '../support/cosign-evidence';
import { cli } from '../support/run-cli';

/**
 * `cosign verify --key` / `verify-attestation --key`: signatures by a managed key, logged in the
 * kit's Rekor (hashedrekord / dsse with the public key), in a real docker-registry. The kit only
 * issues Fulcio certificates, so the key-signed layers are made here from its log. Forgeries: a
 * layer signed by another key, a keyless layer offered to --key, a key-signed layer offered to
 * identity flags, a layer without its log entry.
 */
const scratch = new Scratch();
const b64 = (b: Buffer) => b.toString('base64');
let kit: SigningKit;
let root: string;
let registry: TestRegistry;
let keys: { privateKey: KeyObject; publicKey: KeyObject };
let publicPem: string;
let keyFile: string;
let repoCounter = 0;

before(async () => {
  kit = await SigningKit.create();
  root = scratch.trustedRoot(kit);
  registry = await startRegistry();
  keys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  publicPem = keys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  keyFile = scratch.file('cosign.pub', publicPem);
});
after(async () => registry?.stop());

async function pushImage() {
  const repo = `team/app-key-${++repoCounter}`;
  const { index } = await pushMultiArchImage(registry.host, repo, ['v1.2.0'], repo);
  return { repo, ref: `${registry.host}/${repo}:v1.2.0`, digest: index.digest };
}

/** cosign's legacy `dev.sigstore.cosign/bundle` annotation for an entry the kit's log appended. */
function logged(body: { kind: string; apiVersion: string; body: Buffer }): string {
  const entry = kit.rekor.append(body.kind, body.apiVersion, body.body, Math.floor(kit.now.getTime() / 1000));
  return JSON.stringify({
    SignedEntryTimestamp: b64(entry.signedEntryTimestamp),
    Payload: { body: b64(entry.body), integratedTime: entry.integratedTime, logIndex: entry.logIndex, logID: entry.logId.toString('hex') },
  });
}

/** `cosign sign --key`: simple signing over the digest, signed by `key`, logged as hashedrekord. */
function keySignedSigLayer(image: { repo: string; digest: string }, key = keys.privateKey, pem = publicPem): CosignLayerInput {
  const payload = simpleSigningPayload(`${registry.host}/${image.repo}`, image.digest);
  const signature = sign('sha256', payload, key);
  const bundle = logged(hashedRekordBody(createHash('sha256').update(payload).digest(), signature, pem));
  return { mediaType: SIMPLE_SIGNING, blob: payload, annotations: { 'dev.cosignproject.cosign/signature': b64(signature), 'dev.sigstore.cosign/bundle': bundle } };
}

/** `cosign attest --key`: a DSSE envelope over an in-toto statement about the digest, logged as dsse. */
function keySignedAttLayer(image: { digest: string }, predicateType: string, predicate: unknown): CosignLayerInput {
  const payloadType = 'application/vnd.in-toto+json';
  const payload = inTotoStatement([{ name: 'registry.example.com/team/app', sha256: image.digest.replace(/^sha256:/, '') }], predicateType, predicate);
  const pae = Buffer.concat([Buffer.from(`DSSEv1 ${payloadType.length} ${payloadType} ${payload.length} `), payload]);
  const signature = sign('sha256', pae, keys.privateKey);
  const envelopeBytes = Buffer.from(JSON.stringify({ payloadType, payload: b64(payload), signatures: [{ keyid: '', sig: b64(signature) }] }));
  const bundle = logged(dsseBody({ envelopeBytes, payload, signature, certPem: publicPem }));
  return { mediaType: DSSE, blob: envelopeBytes, annotations: { 'dev.cosignproject.cosign/signature': '', 'dev.sigstore.cosign/bundle': bundle, predicateType } };
}

function run(command: string, ...args: string[]) {
  return cli([command, ...args, '--insecure-registry', registry.host, '--trusted-root', root]);
}

describe('verify --key (managed-key image signatures)', () => {
  test('a key-signed .sig verifies with its key and prints cosign\'s Verified OK', async () => {
    const image = await pushImage();
    await pushCosignManifest(registry.host, image.repo, image.digest, 'sig', [keySignedSigLayer(image)]);
    const result = await run('verify', image.ref, '--key', keyFile);
    assertPassed(result);
    assert.match(result.stdout, /^Verified OK\nprovwatch: image sha256:[0-9a-f]{64} signed by the given key/);
  });

  test('signed by another key: the signature does not verify', async () => {
    const image = await pushImage();
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const otherPem = other.publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await pushCosignManifest(registry.host, image.repo, image.digest, 'sig', [keySignedSigLayer(image, other.privateKey, otherPem)]);
    assertFailed(await run('verify', image.ref, '--key', keyFile), 'signature-invalid', 'tlog-entry-mismatch');
  });

  test('a keyless layer is not made key-signed by its own certificate', async () => {
    const image = await pushImage();
    const payload = simpleSigningPayload(`${registry.host}/${image.repo}`, image.digest);
    await pushCosignManifest(registry.host, image.repo, image.digest, 'sig', [{ mediaType: SIMPLE_SIGNING, blob: payload, annotations: (await kit.signBlob(payload)).ociAnnotations() }]);
    assertFailed(await run('verify', image.ref, '--key', keyFile), 'signature-invalid', 'tlog-entry-mismatch');
    assertPassed(await run('verify', image.ref, ...IDENTITY));
  });

  test('a key-signed layer does not pass for a keyless identity', async () => {
    const image = await pushImage();
    await pushCosignManifest(registry.host, image.repo, image.digest, 'sig', [keySignedSigLayer(image)]);
    assertFailed(await run('verify', image.ref, ...IDENTITY), 'certificate-invalid');
  });

  test('a layer without its log entry is tlog-entry-missing', async () => {
    const image = await pushImage();
    const layer = keySignedSigLayer(image);
    delete layer.annotations['dev.sigstore.cosign/bundle'];
    await pushCosignManifest(registry.host, image.repo, image.digest, 'sig', [layer]);
    assertFailed(await run('verify', image.ref, '--key', keyFile), 'tlog-entry-missing');
  });

  test('--key with identity flags is a usage error', async () => {
    const result = await run('verify', `${registry.host}/team/none:v1`, '--key', keyFile, ...IDENTITY);
    assert.equal(result.code, 2, result.stdout + result.stderr);
  });
});

describe('verify-attestation --key', () => {
  const sbom = { bomFormat: 'CycloneDX', specVersion: '1.5', metadata: { component: { type: 'application', name: 'app' } }, components: [{ type: 'library', name: 'x', version: '1' }] };

  test('a key-signed SBOM attestation verifies with its key; another key fails', async () => {
    const image = await pushImage();
    await pushCosignManifest(registry.host, image.repo, image.digest, 'att', [keySignedAttLayer(image, CYCLONEDX, sbom)]);
    assertPassed(await run('verify-attestation', image.ref, '--type', 'cyclonedx', '--key', keyFile));
    const otherKey = scratch.file('other.pub', generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString());
    assertFailed(await run('verify-attestation', image.ref, '--type', 'cyclonedx', '--key', otherKey), 'signature-invalid', 'tlog-entry-mismatch');
  });
});
