import { decodeCosignCertificate, decodeCosignSignature, messageDigestAlgorithm, parseBundle, verifyBlobBundle, verifyLegacyBlob } from '@provwatch/verification';
import { RekorClient } from '@provwatch/sources';
import { UsageError } from '../cli.error';
import { hashArtifactFile, readEvidenceFile } from '../io/local-files';
import { loadTrustRoot } from '../io/trust-root.loader';
import type { Command } from './command';
import { IDENTITY_FLAGS, identityPolicyFromFlags } from './identity-flags';
import { COMMON_FLAGS, parseFlags } from './parse-flags';

/** `cosign verify-blob`: a bundle, or the older detached certificate + signature pair. */
export const verifyBlobCommand: Command = {
  name: 'verify-blob',
  summary: 'verify a cosign blob signature (bundle, or --certificate/--signature with a Rekor lookup)',
  usage:
    'provwatch verify-blob FILE (--bundle B | --certificate C --signature S [--rekor-url URL]) (--certificate-identity ID | --certificate-identity-regexp RE) (--certificate-oidc-issuer URL | --certificate-oidc-issuer-regexp RE) [--trusted-root FILE] [--json]',
  async run(argv, context) {
    const { values, positionals } = parseFlags(argv, {
      ...COMMON_FLAGS,
      ...IDENTITY_FLAGS,
      bundle: { type: 'string' },
      certificate: { type: 'string' },
      signature: { type: 'string' },
      'rekor-url': { type: 'string' },
    });
    if (positionals.length !== 1) throw new UsageError('exactly one FILE is required');
    const legacy = values.certificate !== undefined || values.signature !== undefined;
    if (legacy && values.bundle) throw new UsageError('--bundle and --certificate/--signature are mutually exclusive');
    if (!legacy && !values.bundle) throw new UsageError('either --bundle or --certificate with --signature is required');
    if (legacy && (!values.certificate || !values.signature)) throw new UsageError('--certificate and --signature go together');

    const identity = identityPolicyFromFlags(values, context.warn);
    const trustRoot = await loadTrustRoot(values['trusted-root'], context.warn);
    if (values.bundle) {
      const bundle = parseBundle(await readEvidenceFile(values.bundle));
      const artifact = await hashArtifactFile(positionals[0], [messageDigestAlgorithm(bundle) ?? 'sha256'], { keepBytesUpTo: 256 * 1024 * 1024 });
      return verifyBlobBundle(bundle, { trustRoot, artifact, identity });
    }
    const certificateDer = decodeCosignCertificate(await readEvidenceFile(values.certificate!));
    const signature = decodeCosignSignature(await readEvidenceFile(values.signature!));
    const artifact = await hashArtifactFile(positionals[0]);
    const rekor = new RekorClient({ baseUrl: values['rekor-url'] ?? context.env.REKOR_URL });
    const tlogSearch = await rekor.findByArtifactDigest(artifact.digests.sha256.toString('hex'));
    return verifyLegacyBlob({ certificateDer, signature, tlogSearch }, { trustRoot, artifact, identity });
  },
};
