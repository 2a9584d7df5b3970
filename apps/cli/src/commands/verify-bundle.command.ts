import { parseBundle, verifyBlobBundle } from '@provwatch/verification';
import { UsageError } from '../cli.error';
import { readEvidenceFile } from '../io/local-files';
import { loadTrustRoot } from '../io/trust-root.loader';
import { artifactFor, parseArtifactArgument } from './artifact-input';
import type { CommandRun } from './command';
import { VERIFY_BUNDLE_FLAGS } from './flag-tables';
import { keyOrIdentity } from './identity-flags';
import { parseFlags } from './parse-flags';

/** The sigstore-conformance client protocol: `verify-bundle --bundle B (identity | --key K) FILE_OR_DIGEST`. */
export const runVerifyBundle: CommandRun = async (argv, context) => {
  const { values, positionals } = parseFlags(argv, VERIFY_BUNDLE_FLAGS);
  if (!values.bundle) throw new UsageError('--bundle is required');
  if (positionals.length !== 1) throw new UsageError('exactly one FILE_OR_DIGEST is required');
  if (values.staging && !values['trusted-root']) throw new UsageError('--staging needs --trusted-root: the staging root is not fetched');
  const target = parseArtifactArgument(positionals[0]);

  const { identity, publicKey } = await keyOrIdentity(values, context.warn);
  const trustRoot = await loadTrustRoot(values['trusted-root'], context.warn);
  const bundle = parseBundle(await readEvidenceFile(values.bundle));
  const artifact = await artifactFor(target, bundle);
  return verifyBlobBundle(bundle, { trustRoot, artifact, identity, publicKey });
};
