import type { Queue } from 'bullmq';
import { type DiscoverTargetPayload, JOBS, discoverSchedulerId } from '@provwatch/jobs';

const SCHEDULER_PREFIX = discoverSchedulerId('');

export interface ScheduledTarget {
  name: string;
  pollIntervalSeconds: number;
}

export interface ReconcileResult {
  upserted: string[];
  removed: string[];
}

/**
 * Makes the discovery job schedulers in Redis match the watchlist: one per target, at its poll
 * interval, and none for targets that left it. upsertJobScheduler is idempotent, so every replica
 * can run this at start without duplicating schedules (unlike @Cron, which fires on each).
 */
export async function reconcileDiscoverySchedules(queue: Queue, targets: ScheduledTarget[]): Promise<ReconcileResult> {
  const wanted = new Set(targets.map((t) => discoverSchedulerId(t.name)));
  const upserted: string[] = [];
  for (const target of targets) {
    const id = discoverSchedulerId(target.name);
    const data: DiscoverTargetPayload = { target: target.name, trigger: 'schedule' };
    await queue.upsertJobScheduler(
      id,
      { every: target.pollIntervalSeconds * 1000 },
      {
        name: JOBS.discoverTarget,
        data,
        // No BullMQ retries: the next scheduled poll is the retry. Retries on top of the schedule
        // multiplied the requests of an outage (and spent a rate limit faster).
        opts: { attempts: 1, removeOnComplete: 100, removeOnFail: 500 },
      },
    );
    upserted.push(id);
  }
  const removed: string[] = [];
  const existing = await queue.getJobSchedulers(0, -1);
  for (const scheduler of existing) {
    const id = scheduler.id ?? scheduler.key;
    if (id.startsWith(SCHEDULER_PREFIX) && !wanted.has(id)) {
      await queue.removeJobScheduler(id);
      removed.push(id);
    }
  }
  return { upserted, removed };
}
