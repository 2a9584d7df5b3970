import { basename } from 'node:path';
import {
  type Verdict,
  VerificationError,
  decodeCosignCertificate,
  decodeCosignSignature,
  matchChecksums,
  parseBundle,
  parseChecksumsFile,
  verdictFromError,
  verifyBlobBundle,
  legacyBlobOfflineVerdict,
  verifyLegacyBlob,
} from '@provwatch/verification';
import { RekorClient } from '@provwatch/sources';
import { UsageError } from '../cli.error';
import { type HashedFile, MAX_EVIDENCE_FILE_BYTES, hashArtifactFile, readEvidenceFile } from '../io/local-files';
import { loadTrustRoot } from '../io/trust-root.loader';
import { KEEP_BYTES_UP_TO, digestAlgorithmsFor } from './artifact-input';
import type { CommandContext, CommandRun } from './command';
import { VERIFY_BLOB_FLAGS, VERIFY_CHECKSUMS_FLAGS } from './flag-tables';
import { keyOrIdentity } from './identity-flags';
import { parseFlags } from './parse-flags';

type BlobValues = { bundle?: string; certificate?: string; signature?: string; key?: string; 'rekor-url'?: string; 'trusted-root'?: string } & Record<string, unknown>;

/**
 * The signature part shared by verify-blob and verify-checksums: a bundle, or .pem + .sig with a
 * Rekor lookup. Returns the file as hashed too, with its bytes when they are small enough.
 */
async function verifySignedFile(file: string, values: BlobValues, context: CommandContext, keepBytesUpTo = 0): Promise<{ verdict: Verdict; artifact: HashedFile }> {
  const legacy = values.certificate !== undefined || values.signature !== undefined;
  if (legacy && values.bundle) throw new UsageError('--bundle and --certificate/--signature are mutually exclusive');
  if (!legacy && !values.bundle) throw new UsageError('either --bundle or --certificate with --signature is required');
  if (legacy && values.key) {
    // cosign finds a key-signed .sig in Rekor by the key's entries; provwatch verifies key
    // signatures from bundles only (cosign sign-blob --bundle), which carry their log entry.
    throw new UsageError('--key verifies a --bundle; a detached --signature with --key is not supported (sign with cosign sign-blob --bundle)');
  }
  if (legacy && (!values.certificate || !values.signature)) throw new UsageError('--certificate and --signature go together');

  const { identity, publicKey } = await keyOrIdentity(values, context.warn);
  const trustRoot = await loadTrustRoot(values['trusted-root'], context.warn);
  if (values.bundle) {
    const bundle = parseBundle(await readEvidenceFile(values.bundle));
    const artifact = await hashArtifactFile(file, digestAlgorithmsFor(bundle), { keepBytesUpTo: Math.max(KEEP_BYTES_UP_TO, keepBytesUpTo) });
    return { verdict: verifyBlobBundle(bundle, { trustRoot, artifact, identity, publicKey }), artifact };
  }
  if (!identity) throw new UsageError('a --certificate/--signature pair is verified for a keyless identity');
  const certificateDer = decodeCosignCertificate(await readEvidenceFile(values.certificate!));
  const signature = decodeCosignSignature(await readEvidenceFile(values.signature!));
  const artifact = await hashArtifactFile(file, ['sha256'], { keepBytesUpTo });
  // Offline checks before the log is asked: a broken .pem/.sig is not a Rekor outage.
  const offline = legacyBlobOfflineVerdict({ certificateDer, signature }, { trustRoot, artifact, identity });
  if (offline) return { verdict: offline, artifact };
  const rekor = new RekorClient({ baseUrl: values['rekor-url'] ?? context.env.REKOR_URL });
  const tlogSearch = await rekor.findByArtifactDigest(artifact.digests.sha256.toString('hex'));
  return { verdict: verifyLegacyBlob({ certificateDer, signature, tlogSearch }, { trustRoot, artifact, identity }), artifact };
}

/** `cosign verify-blob`: a bundle, or the older detached certificate + signature pair. */
export const runVerifyBlob: CommandRun = async (argv, context) => {
  const { values, positionals } = parseFlags(argv, VERIFY_BLOB_FLAGS);
  if (positionals.length !== 1) throw new UsageError('exactly one FILE is required');
  return (await verifySignedFile(positionals[0], values, context)).verdict;
};

/**
 * A signed `checksums.txt` and the release files it lists: the signature first (as verify-blob),
 * then every file given must be listed with its digest (`--require-all`: and every listed file given).
 */
export const runVerifyChecksums: CommandRun = async (argv, context) => {
  const { values, positionals } = parseFlags(argv, VERIFY_CHECKSUMS_FLAGS);
  if (positionals.length < 2) throw new UsageError('a CHECKSUMS_FILE and at least one FILE are required');
  const [checksumsPath, ...files] = positionals;
  const { verdict: signed, artifact: checksums } = await verifySignedFile(checksumsPath, values, context, MAX_EVIDENCE_FILE_BYTES);
  if (signed.status !== 'pass') return signed;
  try {
    // The entries are parsed from the very bytes whose signature was verified, not from a
    // second read of the path (which could meanwhile name another file).
    if (!checksums.bytes || checksums.size > MAX_EVIDENCE_FILE_BYTES) {
      throw new VerificationError('input-too-large', `${checksumsPath} is ${checksums.size} bytes; a checksums file may have ${MAX_EVIDENCE_FILE_BYTES}`);
    }
    const entries = parseChecksumsFile(checksums.bytes);
    const actual = new Map<string, string>();
    for (const file of files) {
      const name = basename(file);
      if (actual.has(name)) throw new VerificationError('input-unreadable', `two files named ${name} were given`);
      actual.set(name, (await hashArtifactFile(file)).digests.sha256.toString('hex'));
    }
    const matches = matchChecksums(entries, actual, { requireAll: values['require-all'] });
    const matched = matches.filter((m) => m.status === 'match').map((m) => m.name);
    return {
      ...signed,
      message: `${signed.message}; ${matched.length} file(s) match checksums.txt: ${matched.join(', ')}`,
      evidence: { ...signed.evidence, details: { ...signed.evidence.details, checksums: matches } },
    };
  } catch (err) {
    return verdictFromError(err, signed.evidence);
  }
};
