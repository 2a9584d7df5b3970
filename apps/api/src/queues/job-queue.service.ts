import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Queue } from 'bullmq';
import Redis from 'ioredis';
import { type ServiceConfig, redisConnectionFromUrl } from '@provwatch/config';
import {
  type DiscoverTargetPayload,
  JOBS,
  QUEUES,
  type Trigger,
  type VerifyImagePayload,
  type VerifyReleasePayload,
  requestedDiscoveryJobId,
  requestedImageJobId,
  requestedReleaseJobId,
  webhookDeliveryKey,
} from '@provwatch/jobs';
import { SERVICE_CONFIG } from '@provwatch/service-core';

const VERIFY_JOB_OPTIONS = { attempts: 5, backoff: { type: 'exponential', delay: 30_000 }, removeOnComplete: 1000, removeOnFail: 5000 } as const;

/**
 * The API's side of the job contract (libs/jobs): it only enqueues; the worker role processes.
 * Job ids are bucketed in time (libs/jobs `requested*JobId`): a burst collapses into one job, a
 * later request is new work even when the earlier job has completed.
 */
@Injectable()
export class JobQueueService implements OnModuleDestroy {
  private readonly discover: Queue<DiscoverTargetPayload>;
  private readonly verify: Queue<VerifyReleasePayload | VerifyImagePayload>;
  private readonly prefix: string;
  /** For the delivery claims: plain keys, not a queue. */
  private readonly redis: Redis;

  constructor(@Inject(SERVICE_CONFIG) config: ServiceConfig) {
    this.prefix = config.queuePrefix;
    // Enqueueing must fail fast when Redis is down (the caller gets a 503), not hang.
    const connection = { ...redisConnectionFromUrl(config.redisUrl), maxRetriesPerRequest: 1, enableOfflineQueue: false };
    this.discover = new Queue(QUEUES.discover, { connection, prefix: config.queuePrefix });
    this.verify = new Queue(QUEUES.verify, { connection, prefix: config.queuePrefix });
    for (const q of [this.discover, this.verify]) q.on('error', () => undefined);
    // Unlike the queues, this client is not awaited until ready: commands sent while it connects
    // wait for it, bounded by one retry and a timeout, so Redis down is still a prompt 503.
    this.redis = new Redis({ ...connection, enableOfflineQueue: true, commandTimeout: 2_000 });
    this.redis.on('error', () => undefined);
  }

  async enqueueDiscovery(target: string, trigger: Trigger, bucketMs = 5_000): Promise<string> {
    const jobId = requestedDiscoveryJobId(target, Date.now(), bucketMs);
    await this.discover.add(JOBS.discoverTarget, { target, trigger }, { jobId, removeOnComplete: 100, removeOnFail: 100 });
    return jobId;
  }

  async enqueueReleaseVerification(payload: VerifyReleasePayload, bucketMs = 10_000): Promise<string> {
    const jobId = requestedReleaseJobId(payload, Date.now(), bucketMs);
    await this.verify.add(JOBS.verifyRelease, payload, { ...VERIFY_JOB_OPTIONS, jobId });
    return jobId;
  }

  async enqueueImageVerification(payload: VerifyImagePayload, bucketMs = 10_000): Promise<string> {
    const jobId = requestedImageJobId(payload, Date.now(), bucketMs);
    await this.verify.add(JOBS.verifyImage, payload, { ...VERIFY_JOB_OPTIONS, jobId });
    return jobId;
  }

  /**
   * Claims a webhook delivery id for `ttlSeconds`; false when it was claimed before. GitHub gives
   * every event a GUID (X-GitHub-Delivery) and keeps it when the delivery is redelivered (which it
   * allows for 3 days, the default here), so a captured delivery replayed later is recognised.
   * Redis holds a hash of the id, not the id (libs/jobs `webhookDeliveryKey`).
   */
  async claimDelivery(deliveryId: string, ttlSeconds = 3 * 86_400): Promise<boolean> {
    return (await this.redis.set(webhookDeliveryKey(this.prefix, deliveryId), '1', 'EX', ttlSeconds, 'NX')) === 'OK';
  }

  /** Gives a claim back when the work it was for could not be queued: a redelivery must work. */
  async releaseDelivery(deliveryId: string): Promise<void> {
    await this.redis.del(webhookDeliveryKey(this.prefix, deliveryId));
  }

  async onModuleDestroy(): Promise<void> {
    this.redis.disconnect();
    await Promise.all([this.discover.close(), this.verify.close()]);
  }
}
