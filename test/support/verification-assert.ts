import { strict as assert } from 'node:assert';
import { VerificationError } from '@provwatch/verification';

/** `run` throws a VerificationError with exactly `code` (and a message matching `message`). */
export function assertVerificationError(run: () => unknown, code: string, message?: RegExp): void {
  assert.throws(run, (err: unknown) => {
    assert.ok(err instanceof VerificationError, `expected VerificationError ${code}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message) assert.match(err.message, message);
    return true;
  });
}
