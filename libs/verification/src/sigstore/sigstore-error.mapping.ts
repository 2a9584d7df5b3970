import { PolicyError, VerificationError as SigstoreVerificationError } from '@sigstore/verify';
import { type FailCode, VerificationError } from '../verdict';

const CODE_MAP: Record<string, FailCode> = {
  TLOG_ERROR: 'tlog-entry-invalid',
  TLOG_INCLUSION_PROOF_ERROR: 'tlog-inclusion-invalid',
  TLOG_INCLUSION_PROMISE_ERROR: 'tlog-inclusion-invalid',
  TLOG_MISSING_INCLUSION_ERROR: 'tlog-inclusion-invalid',
  TLOG_BODY_ERROR: 'tlog-entry-mismatch',
  CERTIFICATE_ERROR: 'certificate-chain-invalid',
  PUBLIC_KEY_ERROR: 'public-key-mismatch',
  SIGNATURE_ERROR: 'signature-invalid',
  TIMESTAMP_ERROR: 'timestamp-invalid',
  NOT_IMPLEMENTED_ERROR: 'bundle-unsupported-version',
  UNTRUSTED_SIGNER_ERROR: 'identity-mismatch',
};

/**
 * Maps what sigstore-js throws to our stable codes. Anything else thrown while checking a
 * parsed bundle comes from decoding attacker-controlled bytes (ASN.1, base64, JSON inside
 * tlog bodies): the same bytes fail the same way every time, so it is `bundle-invalid`.
 */
export function fromSigstoreError(err: unknown): VerificationError {
  if (err instanceof VerificationError) return err;
  if (err instanceof SigstoreVerificationError || err instanceof PolicyError) {
    let code = CODE_MAP[err.code] ?? 'bundle-invalid';
    if (code === 'certificate-chain-invalid' && /SCT|ctlog|certificate transparency/i.test(err.message)) code = 'sct-invalid';
    if (code === 'tlog-entry-invalid' && /threshold|not enough|missing/i.test(err.message)) code = 'tlog-entry-missing';
    return new VerificationError(code, err.message, { cause: err });
  }
  // A TypeError/RangeError from inside sigstore-js says nothing the user can act on ("Cannot read
  // properties of undefined"): keep it as the cause, not as the message.
  if (err instanceof TypeError || err instanceof RangeError || !(err instanceof Error)) {
    return new VerificationError('bundle-invalid', 'malformed evidence: the bundle has a field of the wrong shape that the Sigstore verifier could not read', { cause: err });
  }
  return new VerificationError('bundle-invalid', `malformed evidence: ${err.message}`, { cause: err });
}
