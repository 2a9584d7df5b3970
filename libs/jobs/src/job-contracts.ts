import { createHash } from 'node:crypto';

/**
 * The one contract between the API, the scheduler and the workers: queue names, job names,
 * payloads and job ids. Both sides import it; processors live only in the worker.
 */
export const QUEUES = {
  discover: 'provwatch-discover',
  verify: 'provwatch-verify',
} as const;
export type QueueName = (typeof QUEUES)[keyof typeof QUEUES];

export const JOBS = {
  discoverTarget: 'discover-target',
  verifyRelease: 'verify-release',
  verifyImage: 'verify-image',
} as const;

export type Trigger = 'schedule' | 'webhook' | 'manual' | 'discovery';

export interface DiscoverTargetPayload {
  target: string;
  trigger: Trigger;
}

export interface VerifyReleasePayload {
  target: string;
  tag: string;
  /** GitHub release id: a release deleted and re-created under the same tag is another release. */
  releaseId: number;
  trigger: Trigger;
  /**
   * A scheduled re-verification or retry is queued because run `afterRunId` (a decimal id) was
   * the release's latest. If a later run exists when the job starts, the work was done meanwhile
   * (by the verification that was still waiting when this was queued): the job is skipped.
   */
  afterRunId?: string;
}

/** Redis key of the per-release marker a running verification holds (hashed: no user text in Redis keys). */
export function releaseRunLockKey(prefix: string, target: string, tag: string): string {
  return `${prefix}:verify-running:${hash(`${target}\u0000${tag}`)}`;
}

export interface VerifyImagePayload {
  target: string;
  /** Repository without tag, e.g. ghcr.io/natrontech/pbs-exporter. */
  image: string;
  tag: string;
  digest: string;
  trigger: Trigger;
}

/** One job scheduler per watched target; its id is stable so every replica upserts the same one. */
export function discoverSchedulerId(target: string): string {
  return `discover:${target}`;
}

/**
 * Deterministic job ids: the same work queued twice (two pollers, a webhook racing a poll)
 * collapses into one job. The content key includes what identifies the evidence, so a changed
 * release or a moved tag is new work. BullMQ ids may not contain ':' runs from user data
 * unhashed, so user-controlled parts are hashed.
 */
export function verifyReleaseJobId(payload: Pick<VerifyReleasePayload, 'target' | 'releaseId'>, contentKey: string): string {
  return `release-${hash(`${payload.target}\u0000${payload.releaseId}\u0000${contentKey}`)}`;
}

export function verifyImageJobId(payload: Pick<VerifyImagePayload, 'target' | 'image' | 'digest'>, contentKey = ''): string {
  return `image-${hash(`${payload.target}\u0000${payload.image}\u0000${payload.digest}\u0000${contentKey}`)}`;
}

function hash(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 32);
}

/**
 * Ids of work asked for by a person or a webhook (re-verify, GitHub release event), bucketed in
 * time: a burst (a webhook redelivered, a button clicked twice) collapses into one job, while a
 * request in a later bucket is new work and is not swallowed by a completed job of the same id.
 * A burst straddling a bucket boundary makes two jobs, which is harmless.
 */
export function requestedDiscoveryJobId(target: string, now: number, bucketMs = 5_000): string {
  return `discover-now-${hash(`${target}\u0000${Math.floor(now / bucketMs)}`)}`;
}

export function requestedReleaseJobId(payload: Pick<VerifyReleasePayload, 'target' | 'releaseId'>, now: number, bucketMs = 10_000): string {
  return `release-now-${hash(`${payload.target}\u0000${payload.releaseId}\u0000${Math.floor(now / bucketMs)}`)}`;
}

export function requestedImageJobId(payload: Pick<VerifyImagePayload, 'target' | 'image' | 'digest'>, now: number, bucketMs = 10_000): string {
  return `image-now-${hash(`${payload.target}\u0000${payload.image}\u0000${payload.digest}\u0000${Math.floor(now / bucketMs)}`)}`;
}

/**
 * The Redis key that records a GitHub webhook delivery as handled (see the API's delivery
 * claims). The id is hashed like the job ids: Redis keeps no sender-chosen text.
 */
export function webhookDeliveryKey(prefix: string, deliveryId: string): string {
  return `${prefix}:webhook-delivery:${hash(deliveryId)}`;
}
