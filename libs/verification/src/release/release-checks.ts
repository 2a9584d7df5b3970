import { type TlogSearchResult } from '../rekor';
import { type ProvenanceDocument, parseProvenanceDocument, verifyArtifactProvenance } from '../provenance';
import { type IdentityPolicy, type SigstoreTrustRoot, artifactFromBytes, parseBundle, verifyBundle } from '../sigstore';
import { decodeCosignCertificate, decodeCosignSignature, verifyLegacyBlob } from '../blob';
import { parseChecksumsFile, matchChecksums } from '../checksums';
import { assertSubjectDigest, parseStatement } from '../intoto';
import { summariseCycloneDx } from '../sbom';
import { type SlsaExpectations, verifyGitHubAttestation } from '../slsa';
import { type Evidence, type Verdict, VerificationError, missingVerdict, passVerdict, verdictFromError } from '../verdict';

/** `OWNER/REPO` of a `github.com/OWNER/REPO` source URI (the forms slsa-verifier's users write). */
function repositoryOf(sourceUri: string): string {
  const m = /^(?:git\+)?(?:https:\/\/)?github\.com\/([A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+?)(?:\.git)?\/?$/.exec(sourceUri);
  if (!m) throw new VerificationError('source-mismatch', `expected source ${JSON.stringify(sourceUri)} is not github.com/OWNER/REPO`);
  return m[1];
}

/** Check names as stored, alerted on and shown by the API (stable). */
export const RELEASE_CHECKS = {
  provenance: 'artifact-provenance',
  checksums: 'checksums-signature',
  sbom: 'release-sbom',
} as const;

/** One release asset as the worker saw it: digest computed while streaming, bytes only for evidence files. */
export interface ReleaseAssetInput {
  name: string;
  sha256: string;
  bytes?: Buffer;
}

export interface ReleaseCheckInput {
  trustRoot: SigstoreTrustRoot;
  assets: ReleaseAssetInput[];
  /** The project's signing identity (checksums signatures). */
  identity: IdentityPolicy;
  expectations: SlsaExpectations;
  provenanceAsset?: string;
  checksumsAsset?: string;
  /** The SBOM assets' name or pattern (`*` matches any run of characters); `*.sbom.json`, `*.cdx.json` and `*.bom.json` when unset. */
  sbomAssets?: string;
  /** Every executable or archive asset must be a provenance subject (`expect: { coverage: all }`). */
  requireFullCoverage?: boolean;
  /**
   * Rekor answers for evidence without log entries (legacy .pem/.sig, generator <= v2.0.0), by
   * artifact digest: undefined when that digest was not searched; throws (tlog-unavailable) when
   * the log could not be asked. Either way the check needing it is `error`, never `fail`.
   */
  tlogSearch?: (sha256Hex: string) => TlogSearchResult | undefined;
}

const EVIDENCE_SUFFIXES = ['.intoto.jsonl', '.sigstore.json', '.sigstore', '.pem', '.sig', '.bundle'];

export function isEvidenceAsset(name: string): boolean {
  return EVIDENCE_SUFFIXES.some((s) => name.endsWith(s));
}

/**
 * Artifact provenance of a whole release: the provenance must verify (signature, builder, source,
 * tag), and every subject it names that is a release asset must have that asset's digest: an
 * asset swapped after the build is a failure, not a new truth. Assets it does not name are listed.
 */
export function checkReleaseProvenance(input: ReleaseCheckInput): Verdict {
  const name = input.provenanceAsset;
  const provenance = locateProvenance(input);
  if (!provenance) return missingVerdict(`no provenance asset${name ? ` ${name}` : ' (*.intoto.jsonl)'} in the release`);
  if (!provenance.bytes) return verdictFromError(new VerificationError('input-unreadable', `provenance asset ${provenance.name} was not downloaded`));
  let document: ProvenanceDocument;
  try {
    document = parseProvenanceDocument(provenance.bytes);
  } catch (err) {
    return verdictFromError(err);
  }
  const artifacts = input.assets.filter((a) => !isEvidenceAsset(a.name));
  let subjects: Array<{ name: string; sha256?: string }>;
  try {
    subjects = statementSubjects(document);
  } catch (err) {
    return verdictFromError(err);
  }
  const matched = matchSubjectsToAssets(subjects, artifacts);
  const covered = matched.filter((x) => x.subject.sha256 === x.asset.sha256);
  const swapped = matched.filter((x) => x.subject.sha256 !== x.asset.sha256);
  if (swapped.length > 0) {
    return verdictFromError(
      new VerificationError('subject-digest-mismatch', `release assets differ from the provenance: ${swapped.map((x) => `${x.asset.name} is sha256:${x.asset.sha256}, provenance says sha256:${x.subject.sha256}`).join('; ')}`),
    );
  }
  if (covered.length === 0) {
    return verdictFromError(new VerificationError('subject-digest-mismatch', `the provenance names none of the release's assets (${artifacts.map((a) => a.name).join(', ') || 'none'})`));
  }
  let tlogSearch: TlogSearchResult | undefined;
  if (document.kind === 'legacy-envelopes') {
    // Bare envelopes carry no log entry: the search is the only inclusion evidence. A log that
    // could not be asked (or was not asked) leaves the check undecided; only an answer without a
    // matching entry may fail it (tlog-entry-missing), never an outage.
    try {
      tlogSearch = input.tlogSearch?.(covered[0].asset.sha256);
    } catch (err) {
      return verdictFromError(err, { details: { provenanceAsset: provenance.name } });
    }
    if (!tlogSearch) {
      return verdictFromError(
        new VerificationError('tlog-unavailable', `${provenance.name} holds envelopes without log entries and the transparency log was not searched for ${covered[0].asset.name}`),
        { details: { provenanceAsset: provenance.name } },
      );
    }
  }
  const verdict = verifyArtifactProvenance({
    trustRoot: input.trustRoot,
    document,
    artifacts: covered.map((x) => ({ name: x.asset.name, sha256: Buffer.from(x.asset.sha256, 'hex') })),
    expectations: input.expectations,
    tlogSearch,
  });
  const uncovered = artifacts.filter((a) => !covered.some((x) => x.asset === a)).map((a) => a.name);
  const uncoveredBuilds = uncovered.filter(isBuildOutput);
  if (verdict.status === 'pass' && input.requireFullCoverage && uncoveredBuilds.length > 0) {
    // A binary slipped into a release beside the built ones carries no provenance at all.
    return verdictFromError(
      new VerificationError('artifact-uncovered', `the target asks for full coverage, but no provenance subject covers ${uncoveredBuilds.join(', ')}`),
      { ...verdict.evidence, details: { ...verdict.evidence.details, provenanceAsset: provenance.name, uncoveredAssets: uncovered } },
    );
  }
  // Which subject covers which asset, so a rename (matched by bytes) is visible in the evidence.
  const coverage = Object.fromEntries(covered.map((x) => [x.asset.name, { subject: x.subject.name, matchedBy: x.matchedBy }]));
  return {
    ...verdict,
    evidence: { ...verdict.evidence, details: { ...verdict.evidence.details, provenanceAsset: provenance.name, coverage, uncoveredAssets: uncovered } },
  };
}

/** The provenance asset: the declared name, else the first `*.intoto.jsonl`. */
function locateProvenance(input: Pick<ReleaseCheckInput, 'assets' | 'provenanceAsset'>): ReleaseAssetInput | undefined {
  const name = input.provenanceAsset;
  return name ? input.assets.find((a) => a.name === name) : input.assets.find((a) => a.name.endsWith('.intoto.jsonl'));
}

/**
 * The digest to search the log by for a provenance of bare envelopes (generator <= v2.0.0): the
 * first asset the provenance covers, exactly the one checkReleaseProvenance verifies the entry
 * for. Searching any other asset (the first file of the release, say, which may be a README no
 * subject names) would leave the check undecided. Undefined when the provenance carries its own
 * log entries or covers nothing (the check reports why).
 */
export function legacyProvenanceSearchDigest(input: Pick<ReleaseCheckInput, 'assets' | 'provenanceAsset'>): string | undefined {
  const provenance = locateProvenance(input);
  if (!provenance?.bytes) return undefined;
  try {
    const document = parseProvenanceDocument(provenance.bytes);
    if (document.kind !== 'legacy-envelopes') return undefined;
    const matched = matchSubjectsToAssets(statementSubjects(document), input.assets.filter((a) => !isEvidenceAsset(a.name)));
    return matched.find((x) => x.subject.sha256 === x.asset.sha256)?.asset.sha256;
  } catch {
    return undefined;
  }
}

interface SubjectMatch {
  subject: { name: string; sha256?: string };
  asset: ReleaseAssetInput;
  matchedBy: 'name' | 'digest';
}

/**
 * Pairs release assets with provenance subjects as slsa-verifier does (it looks for the digest),
 * without losing the swap check: an asset named like a subject is paired with that subject, so
 * other bytes under that name stay a mismatch (a digest match elsewhere cannot excuse a swapped
 * file); an asset no subject names is covered by a subject with its exact sha256, whatever the
 * subject is called (goreleaser or a release script renaming a built file).
 */
function matchSubjectsToAssets(subjects: ReadonlyArray<{ name: string; sha256?: string }>, assets: readonly ReleaseAssetInput[]): SubjectMatch[] {
  const byName = new Map(subjects.map((s) => [s.name, s]));
  const byDigest = new Map<string, { name: string; sha256?: string }>();
  for (const s of subjects) if (s.sha256 !== undefined && !byDigest.has(s.sha256)) byDigest.set(s.sha256, s);
  const matches: SubjectMatch[] = [];
  for (const asset of assets) {
    const named = byName.get(asset.name);
    if (named) matches.push({ subject: named, asset, matchedBy: 'name' });
    else {
      const same = byDigest.get(asset.sha256);
      if (same) matches.push({ subject: same, asset, matchedBy: 'digest' });
    }
  }
  return matches;
}

/** Executables and archives: what a build outputs, as opposed to notes, keys and evidence. */
const ARCHIVE = /\.(tar\.gz|tgz|tar\.xz|txz|tar\.bz2|tar\.zst|tar|zip|7z|gz|xz|zst|jar|war|whl|gem|nupkg|deb|rpm|apk|msi|exe|dmg|pkg|appimage|snap|bin|so|dylib|dll|wasm)$/i;
const DOCUMENT = /\.(txt|md|json|ya?ml|asc|pem|sig|pub|crt|cert|html|pdf|sha256|sha512|sbom|spdx|cdx)$/i;

export function isBuildOutput(name: string): boolean {
  if (isEvidenceAsset(name) || DOCUMENT.test(name)) return false;
  // No extension at all is how goreleaser and most Go/Rust releases name a bare binary.
  return ARCHIVE.test(name) || !/\.[A-Za-z0-9]{1,8}$/.test(name);
}

function sbomPattern(sbomAssets: string | undefined): RegExp {
  return sbomAssets !== undefined ? assetPattern(sbomAssets) : /\.(sbom|cdx|bom)\.json$/;
}

/** Signature files of a checksums file, in the order checkReleaseChecksums prefers them. */
const CHECKSUMS_SIGNATURE_SUFFIXES = ['.sigstore.json', '.bundle', '.pem', '.sig'];

/** One asset whose bytes a release check reads, and that check. */
export interface EvidenceRead {
  name: string;
  check: (typeof RELEASE_CHECKS)[keyof typeof RELEASE_CHECKS];
}

/**
 * The assets whose bytes the release checks read, most important first: the provenance (which
 * the SBOM check and the tag check build on), the checksums file and its signatures, then the
 * SBOMs. Mirrors what checkReleaseProvenance, checkReleaseChecksums and checkReleaseSboms look
 * up; every other asset is only ever compared by digest, so its bytes need not be kept.
 */
export function evidenceReadByChecks(names: readonly string[], declared: Pick<ReleaseCheckInput, 'provenanceAsset' | 'checksumsAsset' | 'sbomAssets'>): EvidenceRead[] {
  const reads: EvidenceRead[] = [];
  const add = (name: string | undefined, check: EvidenceRead['check']) => {
    if (name !== undefined && names.includes(name) && !reads.some((r) => r.name === name)) reads.push({ name, check });
  };
  add(locateProvenance({ assets: names.map((name) => ({ name, sha256: '' })), provenanceAsset: declared.provenanceAsset })?.name, RELEASE_CHECKS.provenance);
  const checksums = declared.checksumsAsset ?? 'checksums.txt';
  add(checksums, RELEASE_CHECKS.checksums);
  for (const suffix of CHECKSUMS_SIGNATURE_SUFFIXES) add(`${checksums}${suffix}`, RELEASE_CHECKS.checksums);
  const sboms = sbomPattern(declared.sbomAssets);
  for (const name of names) if (sboms.test(name)) add(name, RELEASE_CHECKS.sbom);
  return reads;
}

/** `*.sbom.json` style patterns: only `*` is special, anchored at both ends. */
function assetPattern(pattern: string): RegExp {
  return new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

/** Subjects as the (not yet verified) statement lists them, only to pair them with assets by name. */
function statementSubjects(document: ProvenanceDocument): Array<{ name: string; sha256?: string }> {
  const envelope =
    document.kind === 'bundle'
      ? (document.bundle as { dsseEnvelope?: { payload?: string; payloadType?: string } }).dsseEnvelope
      : document.envelopes[0];
  if (!envelope?.payload || !envelope.payloadType) throw new VerificationError('provenance-invalid', 'the provenance carries no DSSE envelope');
  const statement = parseStatement(Buffer.from(envelope.payload, 'base64'), envelope.payloadType);
  return statement.subject.map((s) => ({ name: s.name, sha256: s.digest.sha256 }));
}

/**
 * The signed checksums file: its signature (bundle from pbs-exporter v0.8.0, `.pem`/`.sig`
 * before) by the project's identity, then every listed file that is a release asset must match.
 */
export function checkReleaseChecksums(input: ReleaseCheckInput): Verdict {
  const name = input.checksumsAsset ?? 'checksums.txt';
  const file = input.assets.find((a) => a.name === name);
  if (!file) return missingVerdict(`no ${name} in the release`);
  if (!file.bytes) return verdictFromError(new VerificationError('input-unreadable', `${name} was not downloaded`));
  const find = (suffix: string) => input.assets.find((a) => a.name === `${name}${suffix}`);
  const bundle = find('.sigstore.json') ?? find('.bundle');
  const pem = find('.pem');
  const sig = find('.sig');
  const artifact = artifactFromBytes(file.bytes);
  const evidence: Evidence = { artifactDigests: { [name]: `sha256:${file.sha256}` } };
  let signed: Verdict;
  try {
    if (bundle?.bytes) {
      const verified = verifyBundle(parseBundle(bundle.bytes), { trustRoot: input.trustRoot, identity: input.identity, artifact });
      signed = passVerdict(`${name} signed by ${verified.signer.identity}`, { ...evidence, signer: verified.signer, tlog: verified.tlog, timestamps: verified.timestamps });
    } else if (pem?.bytes && sig?.bytes) {
      const search = input.tlogSearch?.(file.sha256);
      if (!search) throw new VerificationError('tlog-unavailable', `${name} is signed without a bundle and the transparency log was not searched`);
      signed = verifyLegacyBlob(
        { certificateDer: decodeCosignCertificate(pem.bytes), signature: decodeCosignSignature(sig.bytes), tlogSearch: search },
        { trustRoot: input.trustRoot, identity: input.identity, artifact },
      );
    } else {
      return missingVerdict(`${name} has no signature (${name}.sigstore.json or ${name}.pem + .sig)`, evidence);
    }
    if (signed.status !== 'pass') return signed;
    const entries = parseChecksumsFile(file.bytes);
    const assetDigests = new Map(input.assets.filter((a) => entries.some((e) => e.name === a.name)).map((a) => [a.name, a.sha256]));
    const matches = matchChecksums(entries, assetDigests);
    return { ...signed, message: `${signed.message}; ${assetDigests.size} listed asset(s) match`, evidence: { ...signed.evidence, details: { checksums: matches } } };
  } catch (err) {
    return verdictFromError(err, evidence);
  }
}

/**
 * Release SBOMs (`*.sbom.json`, `*.cdx.json`): each must be a subject of the verified provenance
 * (so it is the SBOM the build produced) and a usable CycloneDX document. Absent SBOMs are
 * `missing`; a provenance that did not pass leaves the SBOM undecided (`error`), not `pass`.
 */
export function checkReleaseSboms(input: ReleaseCheckInput, provenance: Verdict): Verdict {
  const pattern = sbomPattern(input.sbomAssets);
  const sboms = input.assets.filter((a) => pattern.test(a.name));
  if (sboms.length === 0) return missingVerdict('no SBOM asset (*.sbom.json) in the release');
  if (provenance.status !== 'pass') {
    return { status: 'error', code: 'prerequisite-failed', message: `SBOMs cannot be trusted without verified provenance (${provenance.code})`, evidence: {} };
  }
  const subjects = provenance.evidence.subjects ?? [];
  const summaries: Record<string, unknown> = {};
  try {
    for (const sbom of sboms) {
      if (!subjects.some((s) => s.digest.sha256 === sbom.sha256)) {
        throw new VerificationError('subject-digest-mismatch', `${sbom.name} (sha256:${sbom.sha256}) is not a subject of the verified provenance`);
      }
      if (!sbom.bytes) throw new VerificationError('input-unreadable', `${sbom.name} was not downloaded`);
      let doc: unknown;
      try {
        doc = JSON.parse(sbom.bytes.toString('utf8'));
      } catch {
        throw new VerificationError('sbom-invalid', `${sbom.name} is not JSON`);
      }
      summaries[sbom.name] = summariseCycloneDx(doc);
    }
    return passVerdict(`${sboms.length} SBOM(s) covered by the provenance and valid CycloneDX`, { details: { sboms: summaries } });
  } catch (err) {
    return verdictFromError(err, { details: { sboms: summaries } });
  }
}

/**
 * Provenance from GitHub's attestations API (`actions/attest-build-provenance`, what
 * `gh attestation verify` reads), for projects that publish no `.intoto.jsonl`. Those bundles are
 * signed by the project's own workflow, so the signer must match the target's identity, and they
 * are verified as `gh attestation verify --repo OWNER/REPO` does (verifyGitHubAttestation) for the
 * target's repository, plus the release tag. Every asset that has attestations must have one that
 * verifies completely; assets without any are listed.
 */
export function checkReleaseAttestations(input: ReleaseCheckInput, bundlesByAsset: ReadonlyMap<string, readonly object[]>, repository?: string): Verdict {
  const artifacts = input.assets.filter((a) => !isEvidenceAsset(a.name) && (bundlesByAsset.get(a.name)?.length ?? 0) > 0);
  if (artifacts.length === 0) return missingVerdict('no provenance asset and no GitHub attestation for any release asset');
  const verifiedAssets: Record<string, unknown> = {};
  let evidence: Evidence = {};
  try {
    for (const asset of artifacts) {
      let firstError: unknown;
      let passed = false;
      for (const bundle of bundlesByAsset.get(asset.name)!) {
        try {
          const verified = verifyBundle(bundle, { trustRoot: input.trustRoot, identity: input.identity });
          if (!verified.dsse) throw new VerificationError('provenance-invalid', 'the attestation is not a DSSE envelope');
          const statement = parseStatement(verified.dsse.payload, verified.dsse.payloadType);
          assertSubjectDigest(statement, { sha256: asset.sha256 }, asset.name);
          const facts = verifyGitHubAttestation(statement, verified.signer, {
            repo: repository ?? repositoryOf(input.expectations.sourceUri),
            sourceTag: input.expectations.sourceTag,
            sourceBranch: input.expectations.sourceBranch,
            sourceVersionedTag: input.expectations.sourceVersionedTag,
          });
          verifiedAssets[asset.name] = { builderId: facts.builderId, sourceRef: facts.sourceRef, logIndex: verified.tlog[0]?.logIndex };
          evidence = { signer: verified.signer, tlog: verified.tlog, builderId: facts.builderId, sourceUri: facts.sourceUri, sourceRef: facts.sourceRef, sourceDigest: facts.sourceDigest, buildType: facts.buildType, predicateType: facts.predicateType };
          passed = true;
          break;
        } catch (err) {
          firstError ??= err;
        }
      }
      if (!passed) throw firstError;
    }
    const without = input.assets.filter((a) => !isEvidenceAsset(a.name) && !artifacts.includes(a)).map((a) => a.name);
    return passVerdict(`GitHub attestations verified for ${artifacts.length} asset(s)`, { ...evidence, details: { source: 'github-attestations', verifiedAssets, uncoveredAssets: without } });
  } catch (err) {
    return verdictFromError(err, { details: { source: 'github-attestations', verifiedAssets } });
  }
}
