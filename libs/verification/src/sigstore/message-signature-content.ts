import type * as NobleNist from '@noble/curves/nist';
import type { SignedEntity } from '@sigstore/verify';
import { type KeyObject, constants, publicDecrypt, timingSafeEqual, verify as cryptoVerify } from 'node:crypto';
import type { Artifact, DigestAlgorithm } from './artifact';

type SignatureContent = SignedEntity['signature'];

/** DER DigestInfo prefixes of PKCS#1 v1.5 signatures (RFC 8017 section 9.2, note 1). */
const DIGEST_INFO_PREFIX: Record<DigestAlgorithm, Buffer> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

/**
 * A message signature checked against the artifact's own digest. Unlike sigstore-js's content,
 * `compareDigest` compares with the digest computed from the artifact, not the bundle's
 * messageDigest (an unauthenticated hint), and the signature can be verified from the digest
 * alone, so a large artifact is streamed through a hash once and never held in memory.
 */
export class DigestMessageSignatureContent implements SignatureContent {
  constructor(
    readonly signature: Buffer,
    private readonly artifact: Artifact,
    private readonly algorithm: DigestAlgorithm,
  ) {}

  private get digest(): Buffer | undefined {
    return this.artifact.digests[this.algorithm];
  }

  compareSignature(signature: Buffer): boolean {
    return equalBytes(signature, this.signature);
  }

  compareDigest(digest: Buffer): boolean {
    const own = this.digest;
    return own !== undefined && equalBytes(digest, own);
  }

  compareSignedDigest(digest: Buffer): boolean {
    return this.compareDigest(digest);
  }

  verifySignature(key: KeyObject): boolean {
    if (this.artifact.bytes) {
      // Ed25519 and friends need the message itself; with the bytes at hand use them for every key.
      return safely(() => cryptoVerify(key.asymmetricKeyType === 'ed25519' ? null : this.algorithm, this.artifact.bytes!, key, this.signature));
    }
    const digest = this.digest;
    if (!digest) return false;
    return safely(() => verifyPrehashed(key, digest, this.algorithm, this.signature));
  }
}

/** Verifies a signature over a message of which only the digest is known. */
function verifyPrehashed(key: KeyObject, digest: Buffer, algorithm: DigestAlgorithm, signature: Buffer): boolean {
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const jwk = key.export({ format: 'jwk' });
      // Loaded on first use only: most runs never see a pre-hashed message signature, and the
      // curve library is a large part of what the CLI would otherwise load at every start.
      const { p256, p384, p521 } = require('@noble/curves/nist') as typeof NobleNist;
      const curve = { 'P-256': p256, 'P-384': p384, 'P-521': p521 }[jwk.crv ?? ''];
      if (!curve || !jwk.x || !jwk.y) return false;
      const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x, 'base64url'), Buffer.from(jwk.y, 'base64url')]);
      // ECDSA signs the digest itself: prehash false. High-S signatures are valid ECDSA (Go accepts them).
      return curve.verify(signature, digest, point, { prehash: false, lowS: false, format: 'der' });
    }
    case 'rsa': {
      const decrypted = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
      return equalBytes(decrypted, Buffer.concat([DIGEST_INFO_PREFIX[algorithm], digest]));
    }
    default:
      // Ed25519 signs the whole message: a digest is not enough. Fail closed.
      return false;
  }
}

function safely(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    // Malformed signatures or keys make libraries throw: that is a signature that does not verify.
    return false;
  }
}

function equalBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
