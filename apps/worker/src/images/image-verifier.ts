import type { EvidenceExpectation, ImageTarget, WatchTarget } from '@provwatch/config';
import type { CheckToRecord, ImageRepository, StatusChange, VerificationRepository } from '@provwatch/persistence';
import { identityOf } from '../targets/target-identity';
import { ImageEvidenceCollector, type OciRegistryClient, verdictFromAnyError } from '@provwatch/sources';
import {
  type CuePolicyEvaluator,
  type SigstoreTrustRoot,
  type StatementCheck,
  type Verdict,
  applyEvidenceExpectation,
  assertPolicyAllows,
  passVerdict,
  summariseCycloneDx,
  verifyImageAttestations,
  verifyImageProvenance,
  verifyImageSignatures,
} from '@provwatch/verification';

export const IMAGE_CHECKS = {
  tag: 'image-tag',
  signature: 'image-signature',
  provenance: 'image-provenance',
  sbom: 'image-sbom',
} as const;

const CYCLONEDX = 'https://cyclonedx.org/bom';
const RELEASE_TAG = /^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$/;

export interface ImageVerifierDeps {
  registry: OciRegistryClient;
  images: ImageRepository;
  verifications: VerificationRepository;
  trustRoot: () => SigstoreTrustRoot;
  cue: CuePolicyEvaluator;
  now?: () => Date;
}

/**
 * Verifies one tag of a watched image at the digest it points to now: the tag has not moved
 * since first seen (`tag-moved`), the multi-arch digest is signed by the project's identity, its
 * SLSA provenance passes the SLSA rules and the project's policy.cue, and its CycloneDX SBOM
 * attestation passes policy-sbom.cue. Both cosign generations are read (tag scheme, referrers).
 */
export class ImageVerifier {
  private readonly collector: ImageEvidenceCollector;

  constructor(private readonly deps: ImageVerifierDeps) {
    this.collector = new ImageEvidenceCollector(deps.registry);
  }

  /** `signal`: the job's deadline; once aborted, this call records nothing (the caller records the timeout). */
  async verifyTag(target: WatchTarget & { id: number }, image: ImageTarget, tag: string, trigger: string, signal?: AbortSignal): Promise<{ recorded: CheckToRecord[]; pending: string[]; changes: StatusChange[] }> {
    const startedAt = this.now();
    const digest = (await this.deps.registry.getManifest(image.ref, tag)).digest;
    const imageId = await this.deps.images.upsertImage(target.id, image.ref);
    const observed = await this.deps.images.observeTag(imageId, tag, digest, startedAt);

    const verdicts: Array<[string, Verdict]> = [
      [
        IMAGE_CHECKS.tag,
        observed.moved
          ? { status: 'fail', code: 'tag-moved', message: `${image.ref}:${tag} moved from ${observed.firstDigest} to ${digest}`, evidence: { artifactDigests: { first: observed.firstDigest, now: digest } } }
          : passVerdict(`${image.ref}:${tag} still points to ${digest}`, { artifactDigests: { image: digest } }),
      ],
    ];
    try {
      const evidence = await this.collector.collect({
        image: `${image.ref}@${digest}`,
        signatureRepositories: image.signaturesRepository ? [image.signaturesRepository] : [],
        attestationRepositories: [image.sbomRepository, image.provenanceRepository, image.signaturesRepository].filter((r): r is string => !!r),
      });
      const trustRoot = this.deps.trustRoot();
      const identity = identityOf(target);
      verdicts.push([IMAGE_CHECKS.signature, verifyImageSignatures(evidence.signatures, digest, { trustRoot, identity })]);
      verdicts.push([
        IMAGE_CHECKS.provenance,
        await verifyImageProvenance(evidence.attestations, digest, {
          trustRoot,
          expectations: { sourceUri: target.sourceUri, sourceTag: RELEASE_TAG.test(tag) ? tag : undefined, builderId: target.builderId },
          extraCheck: image.provenancePolicy ? this.policyCheck(image.provenancePolicy.source) : undefined,
        }),
      ]);
      verdicts.push([IMAGE_CHECKS.sbom, await verifyImageAttestations(evidence.attestations, digest, CYCLONEDX, { trustRoot, identity }, this.sbomCheck(image))]);
    } catch (err) {
      // The registry could not be read: every image check is undecided, never a pass.
      const verdict = verdictFromAnyError(err, { artifactDigests: { image: digest } });
      for (const check of [IMAGE_CHECKS.signature, IMAGE_CHECKS.provenance, IMAGE_CHECKS.sbom]) verdicts.push([check, verdict]);
    }

    // Listing an image declares its signature; a policy or a repository declares provenance / SBOM.
    const rules: Record<string, { declared: boolean; expect?: EvidenceExpectation; evidence: string }> = {
      [IMAGE_CHECKS.signature]: { declared: true, expect: target.expect.imageSignature, evidence: 'image signature' },
      [IMAGE_CHECKS.provenance]: { declared: !!(image.provenancePolicy || image.provenanceRepository), expect: target.expect.imageProvenance, evidence: 'image provenance' },
      [IMAGE_CHECKS.sbom]: { declared: !!(image.sbomPolicy || image.sbomRepository), expect: target.expect.imageSbom, evidence: 'image SBOM' },
    };
    for (const entry of verdicts) {
      const rule = rules[entry[0]];
      if (rule) entry[1] = applyEvidenceExpectation(entry[1], { evidence: rule.evidence, subject: `${image.ref}:${tag}`, declared: rule.declared, expect: rule.expect });
    }
    const inGrace = this.now().getTime() - observed.firstSeenAt.getTime() < target.gracePeriodSeconds * 1000;
    const pending = verdicts.filter(([, v]) => v.status === 'missing' && inGrace).map(([name]) => name);
    const recorded = verdicts
      .filter(([name]) => !pending.includes(name))
      .map(([check, v]): CheckToRecord => ({ check, status: v.status, code: v.code, message: v.message, evidence: { ...v.evidence, tag, digest } as Record<string, unknown> }));
    // Past the deadline the timeout is what gets recorded, not verdicts that arrived late.
    signal?.throwIfAborted();
    const { changes } = await this.deps.verifications.recordRun({
      targetId: target.id,
      subjectKind: 'image',
      subjectKey: `${image.ref}:${tag}`,
      trigger,
      startedAt,
      finishedAt: this.now(),
      checks: recorded,
    });
    return { recorded, pending, changes };
  }

  /** A verification stopped at its deadline: a run with every image check `error`, never a silent gap. */
  async recordTimeout(target: WatchTarget & { id: number }, image: ImageTarget, tag: string, trigger: string, startedAt: Date, err: Error): Promise<{ recorded: CheckToRecord[] }> {
    const recorded = Object.values(IMAGE_CHECKS).map((check): CheckToRecord => ({ check, status: 'error', code: 'verification-timeout', message: `verification could not complete: ${err.message}`, evidence: { tag } }));
    await this.deps.verifications.recordRun({ targetId: target.id, subjectKind: 'image', subjectKey: `${image.ref}:${tag}`, trigger, startedAt, finishedAt: this.now(), checks: recorded });
    return { recorded };
  }

  private policyCheck(source: string): StatementCheck {
    return async (statement) => {
      assertPolicyAllows(await this.deps.cue.evaluate(source, statement), 'policy.cue');
      return { details: { policy: 'allowed' } };
    };
  }

  private sbomCheck(image: ImageTarget): StatementCheck {
    return async (statement) => {
      const sbom = summariseCycloneDx(statement.predicate);
      if (image.sbomPolicy) assertPolicyAllows(await this.deps.cue.evaluate(image.sbomPolicy.source, statement), 'policy-sbom.cue');
      return { details: { sbom, ...(image.sbomPolicy ? { policy: 'allowed' } : {}) } };
    };
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }
}

