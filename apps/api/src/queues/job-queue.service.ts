import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { Queue } from 'bullmq';
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

  constructor(@Inject(SERVICE_CONFIG) config: ServiceConfig) {
    // Enqueueing must fail fast when Redis is down (the caller gets a 503), not hang.
    const connection = { ...redisConnectionFromUrl(config.redisUrl), maxRetriesPerRequest: 1, enableOfflineQueue: false };
    this.discover = new Queue(QUEUES.discover, { connection, prefix: config.queuePrefix });
    this.verify = new Queue(QUEUES.verify, { connection, prefix: config.queuePrefix });
    for (const q of [this.discover, this.verify]) q.on('error', () => undefined);
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

  async onModuleDestroy(): Promise<void> {
    await Promise.all([this.discover.close(), this.verify.close()]);
  }
}
