import { type Evidence, type Verdict, verdictFromError } from '@provwatch/verification';
import { SourceError } from './source.error';

/**
 * A failure to fetch evidence is `error/source-unavailable` (retried, operational alert), never
 * a verdict on the evidence itself. The source's own code stays in the message.
 */
export function verdictFromAnyError(err: unknown, evidence: Evidence = {}): Verdict {
  if (err instanceof SourceError) {
    return { status: 'error', code: 'source-unavailable', message: `${err.code}: ${err.message}`, evidence };
  }
  return verdictFromError(err, evidence);
}
