import type { GitHubAttestationPolicy, SlsaExpectations } from '@provwatch/verification';
import { UsageError } from '../cli.error';
import { atMostOne } from './parse-flags';

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

const NAME = /^[A-Za-z0-9_.-]+$/;

/**
 * The attestation policy when any of gh's flags is given (undefined otherwise: slsa-verifier's
 * rules then apply). --repo defaults to --source-uri's repository; --builder-id, if given, is the
 * signer workflow. Every value is checked here: an empty or malformed one is a usage error.
 */
export function githubAttestationPolicyFromFlags(values: {
  'signer-workflow'?: string;
  'cert-identity'?: string;
  repo?: string;
  owner?: string;
  'deny-self-hosted-runners'?: boolean;
  'source-uri'?: string;
  'source-tag'?: string;
  'source-branch'?: string;
  'source-versioned-tag'?: string;
  'builder-id'?: string;
}): GitHubAttestationPolicy | undefined {
  const given = ['signer-workflow', 'cert-identity', 'repo', 'owner', 'deny-self-hosted-runners'].some((n) => (values as Record<string, unknown>)[n] !== undefined);
  if (!given) return undefined;
  for (const name of ['signer-workflow', 'cert-identity', 'repo', 'owner', 'source-uri', 'builder-id'] as const) {
    if (values[name] === '') throw new UsageError(`--${name} must not be empty`);
  }
  atMostOne(values, ['signer-workflow', 'cert-identity', 'builder-id']);
  atMostOne(values, ['repo', 'owner']);
  atMostOne(values, ['source-tag', 'source-branch', 'source-versioned-tag']);
  const fromSource = values['source-uri'] === undefined ? undefined : /^github\.com\/([A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+)$/.exec(values['source-uri'])?.[1];
  if (values['source-uri'] !== undefined && fromSource === undefined) throw new UsageError(`--source-uri must look like github.com/OWNER/REPO, got ${JSON.stringify(values['source-uri'])}`);
  const repo = values.repo ?? (values.owner === undefined ? fromSource : undefined);
  if (repo !== undefined) {
    const parts = repo.split('/');
    if (parts.length !== 2 || !NAME.test(parts[0]) || !NAME.test(parts[1])) throw new UsageError(`--repo must be OWNER/REPO, got ${JSON.stringify(repo)}`);
    if (fromSource !== undefined && fromSource.toLowerCase() !== repo.toLowerCase()) throw new UsageError(`--repo ${repo} and --source-uri ${values['source-uri']} name different repositories`);
  } else if (values.owner === undefined) {
    throw new UsageError('a GitHub attestation is verified for --repo OWNER/REPO, --owner OWNER or --source-uri github.com/OWNER/REPO');
  } else if (!NAME.test(values.owner)) {
    throw new UsageError(`--owner must be a GitHub owner name, got ${JSON.stringify(values.owner)}`);
  }
  if (values.owner !== undefined && fromSource !== undefined && fromSource.split('/')[0].toLowerCase() !== values.owner.toLowerCase()) {
    throw new UsageError(`--owner ${values.owner} is not the owner of --source-uri ${values['source-uri']}`);
  }
  return {
    repo,
    owner: repo === undefined ? values.owner : undefined,
    signerWorkflow: values['signer-workflow'] ?? values['builder-id'],
    certIdentity: values['cert-identity'],
    denySelfHostedRunners: values['deny-self-hosted-runners'],
    sourceTag: values['source-tag'],
    sourceBranch: values['source-branch'],
    sourceVersionedTag: values['source-versioned-tag'],
  };
}
