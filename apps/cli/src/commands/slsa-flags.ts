import type { SlsaExpectations } from '@provwatch/verification';
import { UsageError } from '../cli.error';
import { atMostOne } from './parse-flags';

/** slsa-verifier's source and builder flags, shared by verify-artifact and verify-image. */
export const SLSA_FLAGS = {
  'source-uri': { type: 'string' },
  'source-tag': { type: 'string' },
  'source-branch': { type: 'string' },
  'source-versioned-tag': { type: 'string' },
  'builder-id': { type: 'string' },
} as const;

export function slsaExpectationsFromFlags(values: {
  'source-uri'?: string;
  'source-tag'?: string;
  'source-branch'?: string;
  'source-versioned-tag'?: string;
  'builder-id'?: string;
}): SlsaExpectations {
  const sourceUri = values['source-uri'];
  if (!sourceUri) throw new UsageError('--source-uri is required');
  if (!/^github\.com\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(sourceUri)) {
    throw new UsageError(`--source-uri must look like github.com/OWNER/REPO, got ${JSON.stringify(sourceUri)}`);
  }
  atMostOne(values, ['source-tag', 'source-branch', 'source-versioned-tag']);
  return {
    sourceUri,
    sourceTag: values['source-tag'],
    sourceBranch: values['source-branch'],
    sourceVersionedTag: values['source-versioned-tag'],
    builderId: values['builder-id'],
  };
}
