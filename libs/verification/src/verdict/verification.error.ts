import { type ErrorCode, type FailCode, isErrorCode } from './reason-code';

/**
 * Thrown by verification steps. `code` decides the verdict: a FailCode makes the check
 * `fail` (evidence present and wrong), an ErrorCode makes it `error` (could not decide).
 */
export class VerificationError extends Error {
  readonly code: FailCode | ErrorCode;

  constructor(code: FailCode | ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VerificationError';
    this.code = code;
  }

  get isUndecided(): boolean {
    return isErrorCode(this.code);
  }
}

/**
 * The evidence does not exist (no signature, attestation or provenance was published). The
 * verdict is `missing`; whether that pages depends on the grace period, which callers own.
 */
export class EvidenceMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EvidenceMissingError';
  }
}
