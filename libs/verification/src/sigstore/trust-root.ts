import { TrustedRoot } from '@sigstore/protobuf-specs';
import { type TrustMaterial, Verifier, type VerifierOptions, toTrustMaterial } from '@sigstore/verify';
import type { KeyObject } from 'node:crypto';
import { VerificationError } from '../verdict';
import { FulcioChainVerifier } from './fulcio-chain';

/** A trusted_root.json larger than this is not a trust root (the public-good one is ~7 KiB). */
export const MAX_TRUSTED_ROOT_BYTES = 1024 * 1024;

export interface VerifierThresholds {
  tlogThreshold: number;
  ctlogThreshold: number;
  timestampThreshold: number;
}

/**
 * A parsed, validated Sigstore trust root with its trust material and verifiers built once.
 * Building trust material parses every CA and log key; verifiers are reused for every
 * verification so the hot path does no parsing of the root at all.
 */
export class SigstoreTrustRoot {
  readonly trustedRoot: TrustedRoot;
  readonly trustMaterial: TrustMaterial;
  private readonly verifiers = new Map<string, Verifier>();
  private fulcioChain?: FulcioChainVerifier;

  private constructor(trustedRoot: TrustedRoot) {
    this.trustedRoot = trustedRoot;
    this.trustMaterial = toTrustMaterial(trustedRoot);
  }

  /**
   * Fulcio chain checks with this root's CA side verified once (fulcio-chain.ts). Owned by this
   * instance: a refreshed trust root is a new instance and re-verifies its own chains.
   */
  get fulcio(): FulcioChainVerifier {
    this.fulcioChain ??= new FulcioChainVerifier(this.trustedRoot, this.trustMaterial);
    return this.fulcioChain;
  }

  /** Parses a trusted_root.json document (bytes or already-parsed JSON). */
  static fromJSON(input: Uint8Array | string | unknown): SigstoreTrustRoot {
    let json: unknown = input;
    if (typeof input === 'string' || input instanceof Uint8Array) {
      const text = typeof input === 'string' ? input : Buffer.from(input).toString('utf8');
      if (text.length > MAX_TRUSTED_ROOT_BYTES) {
        throw new VerificationError('trust-root-invalid', `trusted root is larger than ${MAX_TRUSTED_ROOT_BYTES} bytes`);
      }
      try {
        json = JSON.parse(text);
      } catch (err) {
        throw new VerificationError('trust-root-invalid', `trusted root is not JSON: ${(err as Error).message}`);
      }
    }
    const problems = validateTrustedRootJSON(json);
    if (problems.length > 0) {
      throw new VerificationError('trust-root-invalid', `trusted root is malformed: ${problems.join('; ')}`);
    }
    try {
      return new SigstoreTrustRoot(TrustedRoot.fromJSON(json));
    } catch (err) {
      throw new VerificationError('trust-root-invalid', `trusted root cannot be used: ${(err as Error).message}`, { cause: err });
    }
  }

  /** A verifier for these thresholds, created once per trust root. */
  verifier(thresholds: VerifierThresholds): Verifier {
    const key = `${thresholds.tlogThreshold}/${thresholds.ctlogThreshold}/${thresholds.timestampThreshold}`;
    let verifier = this.verifiers.get(key);
    if (!verifier) {
      verifier = new Verifier(this.trustMaterial, thresholds as VerifierOptions);
      this.verifiers.set(key, verifier);
    }
    return verifier;
  }

  /**
   * A verifier that accepts exactly one caller-supplied public key (cosign `--key`), whatever
   * hint the bundle carries: the hint is unauthenticated, the key is what is trusted.
   */
  keyVerifier(publicKey: KeyObject, thresholds: VerifierThresholds): Verifier {
    return this.signingKeyVerifier(publicKey, () => true, thresholds);
  }

  /**
   * A verifier for an entity whose signing key was taken out of a certificate that the caller
   * checks itself: `validAt` is called with every verified signing time (sigstore-js's hook for a
   * key's validity) and must throw or return false unless the certificate is valid then.
   */
  signingKeyVerifier(publicKey: KeyObject, validAt: (time: Date) => boolean, thresholds: VerifierThresholds): Verifier {
    const material: TrustMaterial = {
      ...this.trustMaterial,
      publicKey: () => ({ publicKey, validFor: validAt }),
    };
    return new Verifier(material, thresholds as VerifierOptions);
  }
}

/**
 * Structural checks that protobuf's lenient JSON decoding would paper over: a log or CA whose
 * validity has no start would silently become "valid since forever". Lists every problem at once.
 */
export function validateTrustedRootJSON(json: unknown): string[] {
  const problems: string[] = [];
  if (!isObject(json)) return ['not a JSON object'];
  const mediaType = json.mediaType;
  if (typeof mediaType !== 'string' || !mediaType.startsWith('application/vnd.dev.sigstore.trustedroot')) {
    problems.push(`unknown mediaType ${JSON.stringify(mediaType)}`);
  }
  for (const field of ['tlogs', 'ctlogs'] as const) {
    const logs = json[field] ?? [];
    if (!Array.isArray(logs)) {
      problems.push(`${field} is not an array`);
      continue;
    }
    logs.forEach((log: unknown, i: number) => {
      const publicKey = isObject(log) ? log.publicKey : undefined;
      if (!isObject(publicKey) || typeof publicKey.rawBytes !== 'string') problems.push(`${field}[${i}].publicKey.rawBytes is missing`);
      else if (!hasStart(publicKey.validFor)) problems.push(`${field}[${i}].publicKey.validFor.start is missing`);
      else if (endsBeforeStart(publicKey.validFor)) problems.push(`${field}[${i}].publicKey.validFor.end is before its start`);
      if (!isObject(log) || !isObject(log.logId) || typeof log.logId.keyId !== 'string') problems.push(`${field}[${i}].logId.keyId is missing`);
    });
  }
  for (const field of ['certificateAuthorities', 'timestampAuthorities'] as const) {
    const cas = json[field] ?? [];
    if (!Array.isArray(cas)) {
      problems.push(`${field} is not an array`);
      continue;
    }
    cas.forEach((ca: unknown, i: number) => {
      if (!isObject(ca)) return problems.push(`${field}[${i}] is not an object`);
      const chain = isObject(ca.certChain) ? ca.certChain.certificates : undefined;
      if (!Array.isArray(chain) || chain.length === 0) problems.push(`${field}[${i}].certChain.certificates is empty`);
      if (!hasStart(ca.validFor)) problems.push(`${field}[${i}].validFor.start is missing`);
      else if (endsBeforeStart(ca.validFor)) problems.push(`${field}[${i}].validFor.end is before its start`);
      return undefined;
    });
  }
  return problems;
}

function hasStart(validFor: unknown): boolean {
  return isObject(validFor) && typeof validFor.start === 'string' && !Number.isNaN(Date.parse(validFor.start));
}

/**
 * An inverted window (end before start) is no window: rather than let each verifier decide what
 * it means (sigstore-js's checkpoint check ignores validity entirely), the root is refused. An
 * end that is present but not a date is refused too, instead of reading as "no end".
 */
function endsBeforeStart(validFor: Record<string, any>): boolean {
  if (validFor.end === undefined || validFor.end === null) return false; // JSON null: no end, as protobuf reads it
  const end = typeof validFor.end === 'string' ? Date.parse(validFor.end) : Number.NaN;
  return Number.isNaN(end) || end < Date.parse(validFor.start);
}

function isObject(value: unknown): value is Record<string, any> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
