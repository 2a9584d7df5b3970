import { createHash } from 'node:crypto';
import { DelayedError, Queue, UnrecoverableError, Worker, type Job, type ConnectionOptions } from 'bullmq';
import { type ServiceConfig, type WatchTarget, type Watchlist, loadRegistryAuthFile } from '@provwatch/config';
import { type DiscoverTargetPayload, JOBS, QUEUES, type VerifyImagePayload, type VerifyReleasePayload } from '@provwatch/jobs';
import type { LogFields, ProvwatchMetrics } from '@provwatch/observability';
import { type CheckToRecord, ImageRepository, type PrismaClient, PollStateRepository, ReleaseRepository, VerificationRepository, overallStatus } from '@provwatch/persistence';
import { type BackoffPolicySettings, GitHubClient, type HostHold, OciRegistryClient, RekorClient, SourceError, UpstreamBackoff, UpstreamBackoffPolicy, withAbortSignal } from '@provwatch/sources';
import { CuePolicyEvaluator, type SigstoreTrustRoot, VerificationError } from '@provwatch/verification';
import type { AlertPublisher, AlertSubject, StatusChangeToPublish } from './alerts/alert-publisher';
import { type HoldRedis, RedisHostHoldStore } from './backoff/redis-host-hold.store';
import { ImageDiscovery } from './images/image-discovery';
import { ImageVerifier } from './images/image-verifier';
import { ReleaseDiscovery } from './discovery/release-discovery';
import { reconcileDiscoverySchedules } from './scheduler/discovery-schedule.reconciler';
import { ReleaseVerifier, type ReleaseVerifierLimits } from './verification/release-verifier';
import { type EvalClient, ReleaseRunGuard } from './verification/release-run-guard';

export interface WorkerRuntimeDeps {
  config: ServiceConfig;
  /** The watchlist at start; later ones come through updateWatchlist (a reload). */
  watchlist: Watchlist;
  prisma: PrismaClient;
  trustRoot: () => SigstoreTrustRoot;
  connection: ConnectionOptions;
  /** Queue name prefix, so tests can run side by side on one Redis. */
  prefix?: string;
  now?: () => Date;
  /**
   * Structured log (the service's logger): a message and its fields. Job lines carry `jobId`,
   * `job`, `target`, `release` (or `image` and its tag) and `checks`; `level` defaults to warn.
   */
  log?: (message: string, fields?: LogFields & { level?: 'debug' | 'info' | 'warn' }) => void;
  /** Lock and stall detection timings (defaults suit production; tests shorten them). */
  lockDurationMs?: number;
  stalledIntervalMs?: number;
  /** Process counters and histograms (shared with /metrics in the same process). */
  metrics?: ProvwatchMetrics;
  /** Direct push of verdict alerts to Alertmanager. */
  alerts?: AlertPublisher;
  /** Stopped with the runtime (its refresh timer). */
  trustRoots?: { stop(): void };
  /**
   * How often the discovery schedulers are made to match the watchlist again (default 60 s). A
   * Redis that restarts empty loses every scheduler: without this, polling stops for good.
   */
  scheduleReconcileMs?: number;
  /** Size limits of downloads (tests shrink them). */
  limits?: ReleaseVerifierLimits;
  /** Back-off of undecided verifications (seconds). */
  retry?: { baseSeconds: number; capSeconds: number };
  /** Overall deadline of one verify job (default: config.verifyDeadlineSeconds). */
  verifyDeadlineMs?: number;
  /** Waits of the shared upstream back-off (defaults: DEFAULT_BACKOFF_POLICY; tests shorten them). */
  backoff?: Partial<BackoffPolicySettings>;
}

/**
 * After a job's deadline, how long its aborted work may take to unwind before the timeout is
 * recorded regardless (a step that ignores the abort must not hold the slot).
 */
const ABORT_GRACE_MS = 2_000;

/** A verify job parked by a hold after its failure was recorded (see runVerification). */
type ParkedVerifyPayload = VerifyReleasePayload & { failureOnRecord?: boolean };

/** The same connection error is logged once per this window, with a count of the repeats. */
const CONNECTION_LOG_WINDOW_MS = 60_000;

/** How long new work for a release that is being verified waits before it tries again. */
const RELEASE_BUSY_DELAY_MS = 5_000;

const VERIFY_JOB_OPTIONS = { attempts: 5, backoff: { type: 'exponential', delay: 30_000 }, removeOnComplete: 1000, removeOnFail: 5000 } as const;

/**
 * The worker role: schedules discovery per target, discovers releases, verifies them. Errors
 * that may pass (network, rate limit, 5xx, an undecided check) are retried with backoff; those
 * that never will (unknown target, 404, bad token) fail the job at once.
 */
export class WorkerRuntime {
  readonly discoverQueue: Queue<DiscoverTargetPayload>;
  readonly verifyQueue: Queue<VerifyReleasePayload | VerifyImagePayload>;
  private workers: Worker[] = [];
  private targets = new Map<string, WatchTarget & { id: number }>();
  /** The watchlist in use: the start's, then each reload's once its targets are in Postgres. */
  private watchlist: Watchlist;
  /** Start and watchlist changes, one after the other (a reload during start waits for it). */
  private applying: Promise<void> = Promise.resolve();
  private started = false;
  /** A reloaded watchlist not applied yet (its targets could not be written): retried on the timer. */
  private pendingWatchlist: Watchlist | undefined;
  private readonly discovery: ReleaseDiscovery;
  private readonly verifier: ReleaseVerifier;
  private readonly releases: ReleaseRepository;
  private readonly imageDiscovery: ImageDiscovery;
  private readonly imageVerifier: ImageVerifier;
  /** One warm CUE evaluator per process (starting it costs hundreds of milliseconds). */
  private readonly cue = new CuePolicyEvaluator();
  /** The GitHub API host's back-off, in Redis: shared by polls, verify jobs and replicas. */
  private readonly githubBackoff: UpstreamBackoff;
  private readonly github: GitHubClient;
  private reconcileTimer: NodeJS.Timeout | undefined;
  private reconciling: Promise<void> | undefined;
  private stopped = false;
  private readonly connectionLog: (message: string) => void;
  private readonly runGuard: ReleaseRunGuard;

  constructor(private readonly deps: WorkerRuntimeDeps) {
    this.watchlist = deps.watchlist;
    const queueOptions = { connection: deps.connection, prefix: this.prefix };
    this.discoverQueue = new Queue(QUEUES.discover, queueOptions);
    this.verifyQueue = new Queue(QUEUES.verify, queueOptions);
    const holds = new RedisHostHoldStore(() => this.discoverQueue.getBackend().client as unknown as Promise<HoldRedis>, this.prefix);
    this.githubBackoff = new UpstreamBackoff(holds, new UpstreamBackoffPolicy(deps.backoff), {
      onHold: (host, hold, waitSeconds) => {
        deps.metrics?.upstreamBackoffsTotal.inc({ host, reason: hold.reason });
        deps.metrics?.upstreamBackoffSeconds.set({ host }, waitSeconds);
        deps.log?.(`${host} backed off for ${waitSeconds} s (${hold.reason}), until ${new Date(hold.untilMs).toISOString()}`);
      },
      onStoreError: (err) => deps.log?.(`upstream back-off not readable or writable (requests go ahead): ${describe(err)}`),
    });
    // From the first moment: a Queue without an 'error' listener prints each failed reconnect
    // as a stack trace. Deduplicated, as ioredis reports the same refusal on every retry.
    this.connectionLog = dedupedLog((message) => deps.log?.(message), CONNECTION_LOG_WINDOW_MS);
    for (const queue of [this.discoverQueue, this.verifyQueue]) queue.on('error', (err) => this.connectionLog(`queue: ${describe(err)}`));
    // Held for at most a verification's deadline plus its grace and a margin: a longer-lived
    // marker of a crashed worker would only delay the next run; a shorter one would let a second
    // run start beside a slow first one.
    const verifyDeadlineMs = deps.verifyDeadlineMs ?? deps.config.verifyDeadlineSeconds * 1000;
    this.runGuard = new ReleaseRunGuard(() => this.verifyQueue.getBackend().client as Promise<unknown> as Promise<EvalClient>, this.prefix, verifyDeadlineMs + ABORT_GRACE_MS + 60_000);
    const github = new GitHubClient({
      baseUrl: deps.config.githubApiUrl,
      token: deps.config.githubToken,
      downloadDeadlineMs: deps.config.downloadDeadlineSeconds * 1000,
      insecureHosts: deps.config.insecureRegistries,
      onOutcome: (outcome) => deps.metrics?.countRequest('github', outcome),
      backoff: this.githubBackoff,
    });
    this.github = github;
    this.releases = new ReleaseRepository(deps.prisma);
    this.discovery = new ReleaseDiscovery({
      github,
      pollStates: new PollStateRepository(deps.prisma),
      releases: this.releases,
      enqueueVerify: (payload, jobId) => this.enqueue(JOBS.verifyRelease, payload, jobId),
      recordFirstSeen: (target, release) => this.verifier.recordFirstSeen(target, release),
      retry: deps.retry,
      now: deps.now,
    });
    const logins = deps.config.registryAuthFile ? loadRegistryAuthFile(deps.config.registryAuthFile) : new Map();
    const registry = new OciRegistryClient({
      insecureHosts: deps.config.insecureRegistries,
      downloadDeadlineMs: deps.config.downloadDeadlineSeconds * 1000,
      userAgent: 'provwatch',
      credentials: (host) => logins.get(host.toLowerCase()),
      onOutcome: (outcome) => deps.metrics?.countRequest('oci', outcome),
    });
    const pollStates = new PollStateRepository(deps.prisma);
    this.imageDiscovery = new ImageDiscovery({
      registry,
      pollStates,
      enqueueVerify: (payload, jobId) => this.enqueue(JOBS.verifyImage, payload, jobId),
      now: deps.now,
    });
    this.imageVerifier = new ImageVerifier({
      registry,
      images: new ImageRepository(deps.prisma),
      verifications: new VerificationRepository(deps.prisma),
      trustRoot: deps.trustRoot,
      cue: this.cue,
      now: deps.now,
    });
    this.verifier = new ReleaseVerifier({
      github,
      rekor: new RekorClient({ baseUrl: deps.config.rekorUrl }),
      releases: this.releases,
      verifications: new VerificationRepository(deps.prisma),
      trustRoot: deps.trustRoot,
      now: deps.now,
      limits: { evidenceBudgetBytes: deps.config.evidenceBudgetMiB * 1024 * 1024, ...deps.limits },
    });
  }

  /**
   * Adds a verify job under its content-derived id. A job of that id left in BullMQ's failed set
   * would swallow the add (same id) for as long as it is kept: the work would never run again.
   * So a failed one is removed first; a waiting, active or completed one still collapses the add.
   */
  private async enqueue(name: string, payload: VerifyReleasePayload | VerifyImagePayload, jobId: string): Promise<void> {
    const existing = await this.verifyQueue.getJob(jobId);
    if (existing && (await existing.getState()) === 'failed') await existing.remove().catch(() => undefined);
    await this.verifyQueue.add(name, payload, { ...VERIFY_JOB_OPTIONS, jobId });
  }

  async start(): Promise<void> {
    await this.serially(async () => {
      this.targets = await this.registerTargets(this.watchlist, new Map());
      this.started = true;
    });
    await this.reconcileSchedules('start');
    this.watchSchedules();
    const workerOptions = {
      connection: this.deps.connection,
      prefix: this.prefix,
      // A job whose worker lost its lock (crash, Redis restart) is picked up again, not lost.
      lockDuration: this.deps.lockDurationMs ?? 60_000,
      stalledInterval: this.deps.stalledIntervalMs ?? 30_000,
      maxStalledCount: 3,
    };
    this.workers = [
      new Worker(QUEUES.discover, (job: Job<DiscoverTargetPayload>, token?: string) => this.runDiscovery(job, token), { ...workerOptions, concurrency: 4 }),
      new Worker(
        QUEUES.verify,
        (job: Job<VerifyReleasePayload | VerifyImagePayload>, token?: string) =>
          job.name === JOBS.verifyImage ? this.runImageVerification(job as Job<VerifyImagePayload>) : this.runVerification(job as Job<VerifyReleasePayload>, token),
        { ...workerOptions, concurrency: this.deps.config.verifyConcurrency },
      ),
    ];
    for (const worker of this.workers) {
      worker.on('failed', (job, err) => this.deps.log?.(`job ${job?.name} ${job?.id} failed: ${describe(err)}`, { ...jobFields(job), reason: describe(err), ...checksIn(err) }));
      // One line per finished job: verifications at info (what was recorded), polls at debug.
      worker.on('completed', (job, result: { recorded?: unknown; pending?: unknown; skipped?: unknown } | undefined) =>
        this.deps.log?.(`job ${job.name} ${job.id} completed`, {
          ...jobFields(job),
          level: job.name === JOBS.discoverTarget ? 'debug' : 'info',
          ...(Array.isArray(result?.recorded) ? { checks: result.recorded } : {}),
          ...(Array.isArray(result?.pending) && result.pending.length > 0 ? { pending: result.pending } : {}),
          ...(typeof result?.skipped === 'string' ? { skipped: result.skipped } : {}),
        }),
      );
      // Connection trouble (Redis restarting) is reported, not thrown: BullMQ reconnects by itself.
      worker.on('error', (err) => this.connectionLog(`worker: ${describe(err)}`));
    }
    this.deps.alerts?.start();
  }

  /**
   * A reloaded watchlist: its targets are upserted in Postgres, then become the ones jobs run
   * for (a removed target's jobs fail as not in the watchlist), then the schedulers are made to
   * match at once, so an added target is polled now and a removed one no more. A failure (the
   * database down) keeps the previous targets; the schedule reconcile timer tries again.
   */
  updateWatchlist(next: Watchlist): Promise<void> {
    this.pendingWatchlist = next;
    return this.serially(async () => {
      // A later reload queued behind this one supersedes it.
      if (this.stopped || this.pendingWatchlist !== next) return;
      if (!this.started) {
        // start() has not registered targets yet: it will register these.
        this.watchlist = next;
        this.pendingWatchlist = undefined;
        return;
      }
      let targets;
      try {
        targets = await this.registerTargets(next, this.targets);
      } catch (err) {
        this.deps.log?.(`reloaded watchlist not applied yet, the previous targets stay in use (retrying in ${Math.round((this.deps.scheduleReconcileMs ?? 60_000) / 1000)} s): ${describe(err)}`);
        throw err;
      }
      this.pendingWatchlist = undefined;
      this.targets = targets;
      this.watchlist = next;
      // A reconcile in flight read the previous targets: this one must run after it.
      await this.reconciling?.catch(() => undefined);
      await this.reconcileSchedules('watchlist reloaded');
    });
  }

  private serially(work: () => Promise<void>): Promise<void> {
    const run = this.applying.then(work);
    this.applying = run.catch(() => undefined);
    return run;
  }

  /** Upserts the targets, except those unchanged since `known` (a reload of 10,000 targets that adds one writes one). */
  private async registerTargets(watchlist: Watchlist, known: ReadonlyMap<string, WatchTarget & { id: number }>): Promise<Map<string, WatchTarget & { id: number }>> {
    const targets = new Map<string, WatchTarget & { id: number }>();
    for (const target of watchlist.targets) {
      const hash = configHash(target);
      const previous = known.get(target.name);
      const id = previous && configHash({ ...previous, id: undefined } as WatchTarget) === hash ? previous.id : await this.releases.upsertTarget(target.name, target.github, hash);
      targets.set(target.name, { ...target, id });
    }
    return targets;
  }

  private get prefix(): string {
    return this.deps.prefix ?? this.deps.config.queuePrefix;
  }

  /**
   * Schedulers live in Redis only. A Redis restarted without its data (as `npm start` runs it)
   * or flushed has none, and nothing would ever poll again while every gauge stays green: so
   * they are upserted again (idempotent) on every reconnect and on a timer, which also heals a
   * replica's Redis being swapped behind a load balancer without a reconnect event.
   */
  private watchSchedules(): void {
    const everyMs = this.deps.scheduleReconcileMs ?? 60_000;
    this.reconcileTimer = setInterval(() => {
      if (this.pendingWatchlist) void this.updateWatchlist(this.pendingWatchlist).catch(() => undefined);
      else void this.reconcileSchedules('timer');
    }, everyMs);
    this.reconcileTimer.unref();
    void this.discoverQueue.getBackend().client.then(
      (client) => {
        let first = true;
        client.on('ready', () => {
          // The first 'ready' is the start itself, already reconciled.
          if (first) return void (first = false);
          void this.reconcileSchedules('redis reconnected');
        });
        if (client.status === 'ready') first = false;
      },
      () => undefined,
    );
  }

  /** Single flight; a failure is one log line and waits for the next reconnect or tick. */
  reconcileSchedules(why: string): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.reconciling ??= (async () => {
      try {
        const result = await reconcileDiscoverySchedules(this.discoverQueue, this.watchlist.targets);
        this.deps.metrics?.scheduleReconcilesTotal.inc({ result: 'ok' });
        if (why !== 'timer' && why !== 'start') this.deps.log?.(`discovery schedules reconciled (${why}): ${result.upserted.length} upserted, ${result.removed.length} removed`);
      } catch (err) {
        this.deps.metrics?.scheduleReconcilesTotal.inc({ result: 'error' });
        this.deps.log?.(`discovery schedules not reconciled (${why}): ${err instanceof Error ? err.message : String(err)}; retrying on the next reconnect or in ${Math.round((this.deps.scheduleReconcileMs ?? 60_000) / 1000)} s`);
      } finally {
        this.reconciling = undefined;
      }
    })();
    return this.reconciling;
  }

  /** Closing a worker lets running jobs finish; then the queues close. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    await Promise.all(this.workers.map((w) => w.close()));
    await this.deps.alerts?.stop();
    this.deps.trustRoots?.stop();
    await Promise.all([this.discoverQueue.close(), this.verifyQueue.close()]);
    await this.cue.close();
  }

  private target(name: string): WatchTarget & { id: number } {
    const target = this.targets.get(name);
    if (!target) throw new UnrecoverableError(`target ${name} is not in the watchlist`);
    return target;
  }

  private async runDiscovery(job: Job<DiscoverTargetPayload>, token?: string) {
    const target = this.target(job.data.target);
    // Releases and images are polled independently: one failing does not hide the other.
    const [releases, images] = await Promise.allSettled([this.discovery.discover(target), this.imageDiscovery.discover(target)]);
    if (releases.status === 'rejected') this.deps.metrics?.pollErrorsTotal.inc({ target: target.name, source: 'github-releases' });
    if (releases.status === 'rejected' && releases.reason instanceof SourceError && releases.reason.heldUntilMs !== undefined) {
      this.deps.metrics?.upstreamRequestsHeldTotal.inc({ host: this.github.apiHost, caller: 'poll' });
      // A scheduled poll in a hold just fails (on record; the next poll is its retry). A webhook or
      // manual poll has no next one: it waits for the hold, as a verify job does.
      if (job.data.trigger !== 'schedule') {
        const reason = releases.reason.code === 'github-rate-limited' ? 'rate-limited' : 'unavailable';
        return this.waitForBackoff(job, token, { untilMs: releases.reason.heldUntilMs, reason }, 'poll');
      }
    }
    if (images.status === 'rejected') this.deps.metrics?.pollErrorsTotal.inc({ target: target.name, source: 'oci-tags' });
    for (const outcome of [releases, images]) if (outcome.status === 'rejected') throw retryOrGiveUp(outcome.reason);
    return { releases: (releases as PromiseFulfilledResult<{ queued: string[] }>).value.queued, images: (images as PromiseFulfilledResult<string[]>).value };
  }

  private async runImageVerification(job: Job<VerifyImagePayload>) {
    const target = this.target(job.data.target);
    const image = target.images.find((i) => i.ref === job.data.image);
    if (!image) throw new UnrecoverableError(`image ${job.data.image} is not watched for ${target.name}`);
    const mark = recordedMark(job);
    if (mark) return this.finishRecorded(job, target, mark);
    let result;
    const stopTimer = this.deps.metrics?.verificationDuration.startTimer({ subject: 'image' });
    const startedAt = this.deps.now?.() ?? new Date();
    try {
      result = await this.withDeadline(`image ${image.ref}:${job.data.tag} of ${target.name}`, (signal) => this.imageVerifier.verifyTag(target, image, job.data.tag, job.data.trigger, signal));
    } catch (err) {
      if (isTimeout(err)) {
        // On record like any run (every check error), then retried on the job's back-off.
        try {
          const failure = await this.imageVerifier.recordTimeout(target, image, job.data.tag, job.data.trigger, startedAt, err);
          this.recorded(target.name, 'image', failure.recorded);
        } catch (recordErr) {
          this.deps.log?.(`verification of ${image.ref}:${job.data.tag} timed out and could not be recorded: ${describe(recordErr)}`);
        }
      }
      throw retryOrGiveUp(err);
    } finally {
      stopTimer?.();
    }
    this.recorded(target.name, 'image', result.recorded);
    await this.markRecorded(job, result, { target: target.name, release: job.data.tag, image: image.ref });
    await this.deps.alerts?.publishChanges({ target: target.name, release: job.data.tag, image: image.ref }, result.changes);
    if (result.pending.length > 0) {
      await this.verifyQueue.add(JOBS.verifyImage, { ...job.data, trigger: 'schedule' }, { ...VERIFY_JOB_OPTIONS, jobId: `${job.id}-grace`, delay: target.gracePeriodSeconds * 1000 });
    }
    const undecided = result.recorded.filter((c) => c.status === 'error');
    if (undecided.length > 0) throw new Error(`undecided checks: ${undecided.map((c) => `${c.check} (${c.code})`).join(', ')}`);
    return { recorded: result.recorded.map((c) => `${c.check}=${c.status}`), pending: result.pending };
  }

  /**
   * One verification of a release at a time, and none that is already done: a scheduled job
   * (retry, re-verify, grace) finding the release being verified, or verified after the run it
   * was queued for, is skipped; new content, a webhook or a manual request waits its turn
   * (delayed, not dropped). Without this, a release whose first verification waited in the
   * queue longer than the retry back-off of its sighting run was verified twice.
   */
  private async runVerification(job: Job<VerifyReleasePayload>, token?: string) {
    const target = this.target(job.data.target);
    const jobId = job.id ?? `${job.name}:${job.timestamp}`;
    if (!(await this.runGuard.acquire(target.name, job.data.tag, jobId))) {
      if (job.data.trigger === 'schedule') return { skipped: 'another verification of this release is running' };
      await job.moveToDelayed(Date.now() + RELEASE_BUSY_DELAY_MS, token);
      throw new DelayedError();
    }
    try {
      // A run already on record (this attempt's, before its worker stopped) needs nothing more
      // from GitHub: finish it, even while GitHub is held.
      const mark = recordedMark(job);
      if (mark) return await this.finishRecorded(job, target, mark);
      if (job.data.afterRunId !== undefined && job.attemptsMade === 0) {
        const latest = await this.releases.latestRunId(target.id, job.data.tag);
        if (latest !== undefined && latest > BigInt(job.data.afterRunId)) return { skipped: `verified since it was queued (run ${latest})` };
      }
      // A held GitHub is sent nothing: the job waits for the hold, no attempt spent, no run recorded.
      const held = await this.githubBackoff.heldUntil(this.github.apiHost);
      if (held) return await this.waitForBackoff(job, token, held);
      return await this.verifyRelease(job, target, token);
    } finally {
      await this.runGuard.release(target.name, job.data.tag, jobId).catch(() => undefined);
    }
  }

  private async verifyRelease(job: Job<VerifyReleasePayload>, target: WatchTarget & { id: number }, token: string | undefined) {
    let result;
    const stopTimer = this.deps.metrics?.verificationDuration.startTimer({ subject: 'release' });
    const startedAt = this.deps.now?.() ?? new Date();
    try {
      result = await this.withDeadline(`release ${job.data.tag} of ${target.name}`, (signal) => this.verifier.verify(target, job.data.releaseId, job.data.trigger, signal));
    } catch (err) {
      // Held before its first request (another job or replica set the hold meanwhile): as above.
      if (err instanceof SourceError && err.heldUntilMs !== undefined) {
        return this.waitForBackoff(job, token, { untilMs: err.heldUntilMs, reason: err.code === 'github-rate-limited' ? 'rate-limited' : 'unavailable' });
      }
      // Recorded first: the run, not BullMQ's failed set, is what the API, metrics and alerts see.
      // A job parked by a hold that fails the same way again is already on record: one run per
      // outage, not one per probe (the runs table is what the API pages through).
      const heldFailure = err instanceof SourceError && (err.code === 'github-rate-limited' || err.code === 'github-unavailable');
      let recorded = heldFailure && (job.data as ParkedVerifyPayload).failureOnRecord === true;
      if (!recorded) try {
        const failure = await this.verifier.recordFailure(target, job.data.tag, job.data.trigger, startedAt, err);
        this.recorded(target.name, 'release', failure.recorded);
        recorded = true;
      } catch (recordErr) {
        this.deps.log?.(`verification of ${target.name} ${job.data.tag} failed (${describe(err)}) and could not be recorded: ${describe(recordErr)}`);
      }
      const final = retryOrGiveUp(err);
      // Unrecoverable and on record: the job is done; the retry schedule tries again later.
      if (recorded && final instanceof UnrecoverableError) return { recorded: ['error'], error: final.message };
      // The answer that failed it held GitHub (429, outage): wait for the hold, not BullMQ's back-off.
      const hold = recorded ? await this.githubBackoff.heldUntil(this.github.apiHost) : undefined;
      if (hold) {
        if (heldFailure) await job.updateData({ ...job.data, failureOnRecord: true } as ParkedVerifyPayload);
        return this.waitForBackoff(job, token, hold);
      }
      throw final;
    } finally {
      stopTimer?.();
    }
    this.recorded(target.name, 'release', result.recorded);
    await this.markRecorded(job, result, { target: target.name, release: job.data.tag });
    await this.deps.alerts?.publishChanges({ target: target.name, release: job.data.tag }, result.changes);
    if (result.pending.length > 0) {
      // Evidence is often uploaded minutes after the release: look again when the grace period ends.
      const { failureOnRecord: _parked, afterRunId: _queuedFor, ...payload } = job.data as ParkedVerifyPayload;
      await this.verifyQueue.add(JOBS.verifyRelease, { ...payload, trigger: 'schedule' }, { ...VERIFY_JOB_OPTIONS, jobId: `${job.id}-grace`, delay: target.gracePeriodSeconds * 1000 });
    }
    const undecided = result.recorded.filter((c) => c.status === 'error');
    if (undecided.length > 0) {
      // Undecided because GitHub is held: the run is on record; try again when the hold ends.
      const hold = await this.githubBackoff.heldUntil(this.github.apiHost);
      if (hold) {
        // Parked without spending an attempt: the note of this attempt's run must not make the
        // resumed job skip the verification it is parked for.
        await job.updateProgress(0).catch(() => undefined);
        return this.waitForBackoff(job, token, hold);
      }
      // An undecided check is recorded, then retried: it may pass or fail once the outage is over.
      throw new Error(`undecided checks: ${undecided.map((c) => `${c.check} (${c.code})`).join(', ')}`);
    }
    return { recorded: result.recorded.map((c) => `${c.check}=${c.status}`), pending: result.pending };
  }

  /**
   * Runs one verify job under its overall deadline. Threat: an upstream that answers slowly
   * enough never to trip an idle timeout, holding verify slots until no release is verified.
   * At the deadline every request the job started is aborted (withAbortSignal reaches the
   * GitHub, OCI and Rekor clients) and the job rejects with `verification-timeout`, after at most
   * ABORT_GRACE_MS for the work to unwind, whether or not it noticed the abort.
   */
  private async withDeadline<T>(what: string, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const ms = this.deps.verifyDeadlineMs ?? this.deps.config.verifyDeadlineSeconds * 1000;
    const timeout = new VerificationError('verification-timeout', `${what} did not complete within ${Math.round(ms / 1000)} s (PROVWATCH_VERIFY_DEADLINE)`);
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort(timeout);
        reject(timeout);
      }, ms);
    });
    expired.catch(() => undefined);
    const running = withAbortSignal(controller.signal, () => work(controller.signal));
    try {
      return await Promise.race([running, expired]);
    } catch (err) {
      if (!controller.signal.aborted) throw err;
      await Promise.race([running.catch(() => undefined), new Promise((r) => setTimeout(r, ABORT_GRACE_MS).unref())]);
      throw timeout;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Notes in the job (Redis) that this attempt's run is in Postgres. A worker killed after that
   * (while it pushes alerts, say) leaves the job locked; the worker that takes it over after the
   * lock expires would verify and record the same run again: a duplicate in the history and the
   * verdict counters. A failure to note it only costs that duplicate, so it does not fail the job.
   */
  private async markRecorded(job: Job, result: { recorded: CheckToRecord[]; pending: string[]; changes: StatusChangeToPublish[] }, subject: AlertSubject): Promise<void> {
    const mark: RecordedMark = {
      recordedInAttempt: job.attemptsMade,
      subject,
      changes: result.changes.map((c) => ({ check: c.check, from: c.from, to: c.to })),
      recorded: result.recorded.map((c) => `${c.check}=${c.status}`),
      pending: result.pending,
      undecided: result.recorded.filter((c) => c.status === 'error').map((c) => `${c.check} (${c.code})`),
    };
    await job.updateProgress(mark as unknown as object).catch((err: Error) => this.deps.log?.(`job ${job.id}: run recorded, not noted in the job (${err.message})`));
  }

  /**
   * The rest of a job taken over after its run was recorded: the alert push (again: the dead
   * worker's may not have arrived, and Alertmanager takes a repeat as the same alert), the grace
   * look and the retry; not a second run.
   */
  private async finishRecorded(job: Job<VerifyReleasePayload | VerifyImagePayload>, target: WatchTarget, mark: RecordedMark) {
    this.deps.log?.(`job ${job.name} ${job.id}: its run was recorded before its worker stopped; not verified again`);
    if (mark.subject && mark.changes.length > 0) await this.deps.alerts?.publishChanges(mark.subject, mark.changes);
    if (mark.pending.length > 0) {
      await this.verifyQueue.add(job.name, { ...job.data, trigger: 'schedule' }, { ...VERIFY_JOB_OPTIONS, jobId: `${job.id}-grace`, delay: target.gracePeriodSeconds * 1000 });
    }
    if (mark.undecided.length > 0) throw new Error(`undecided checks: ${mark.undecided.join(', ')}`);
    return { recorded: mark.recorded, pending: mark.pending };
  }

  /**
   * Puts the job back until the hold ends without spending one of its attempts (BullMQ's
   * moveToDelayed skips the attempt count), so an outage or rate limit never exhausts a job.
   */
  private async waitForBackoff(job: Job, token: string | undefined, hold: HostHold, caller: 'poll' | 'verify' = 'verify'): Promise<never> {
    if (caller === 'verify') this.deps.metrics?.upstreamRequestsHeldTotal.inc({ host: this.github.apiHost, caller });
    // A little spread so the jobs a hold parked do not all fire in the same millisecond.
    await job.moveToDelayed(hold.untilMs + Math.floor(Math.random() * 250), token);
    throw new DelayedError(`${this.github.apiHost} backed off (${hold.reason}) until ${new Date(hold.untilMs).toISOString()}`);
  }

  private recorded(target: string, subject: 'release' | 'image', checks: CheckToRecord[]): void {
    if (checks.length > 0) this.deps.metrics?.verificationsTotal.inc({ target, subject, status: overallStatus(checks) });
  }
}

function isTimeout(err: unknown): err is VerificationError {
  return err instanceof VerificationError && err.code === 'verification-timeout';
}

/** What a job's attempt recorded, kept as its BullMQ progress (see markRecorded). */
interface RecordedMark {
  recordedInAttempt: number;
  subject?: AlertSubject;
  changes: StatusChangeToPublish[];
  recorded: string[];
  pending: string[];
  undecided: string[];
}

/**
 * The mark of THIS attempt only: a stalled job taken over keeps its attempt count, while a retry
 * after a failure (an undecided check) has a higher one and must verify again.
 */
function recordedMark(job: Job): RecordedMark | undefined {
  const progress = job.progress as Partial<RecordedMark> | number | undefined;
  if (typeof progress !== 'object' || progress === null || progress.recordedInAttempt !== job.attemptsMade) return undefined;
  return { recordedInAttempt: progress.recordedInAttempt, subject: progress.subject, changes: progress.changes ?? [], recorded: progress.recorded ?? [], pending: progress.pending ?? [], undecided: progress.undecided ?? [] };
}

function retryOrGiveUp(err: unknown): Error {
  if (err instanceof SourceError && !err.retryable) return new UnrecoverableError(`${err.code}: ${err.message}`);
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * An error's reason in one line. Prisma's messages put the reason on their last line after a
 * code frame; its driver adapter errors carry the reason in a plain-object `cause` (`kind`,
 * constraint, table...) with a message that is only the kind; pg reports a host with several
 * addresses as an AggregateError with an empty message. None of these may log as "failed: ".
 */
export function describe(err: unknown, depth = 0): string {
  if (!(err instanceof Error)) return typeof err === 'object' && err !== null ? compact(err) : String(err);
  const e = err as Error & { code?: unknown; errors?: unknown };
  const name = err.name && err.name !== 'Error' ? err.name : err.constructor?.name && err.constructor.name !== 'Error' ? err.constructor.name : '';
  const code = typeof e.code === 'string' || typeof e.code === 'number' ? String(e.code) : '';
  const line = err.message.split('\n').map((l) => l.trim()).filter(Boolean).pop() ?? '';
  const parts = [name, code, line === code ? '' : line].filter(Boolean);
  let detail = '';
  if (depth < 3) {
    if (err.cause instanceof Error) detail = ` (cause: ${describe(err.cause, depth + 1)})`;
    else if (typeof err.cause === 'object' && err.cause !== null) detail = ` (${compact(err.cause)})`;
    else if (Array.isArray(e.errors) && e.errors.length > 0) detail = ` (${e.errors.slice(0, 3).map((x) => describe(x, depth + 1)).join('; ')})`;
  }
  return `${parts.join(': ') || 'unknown error'}${detail}`;
}

/** A plain object (a driver adapter error's payload) as `key=value` pairs, bounded. */
function compact(value: object): string {
  const text = Object.entries(value)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(', ');
  return text.length > 300 ? `${text.slice(0, 300)}...` : text || 'unknown error';
}

/**
 * A log that says a repeated message once per window: a Redis that is down for an hour is a few
 * dozen lines, not one per reconnect attempt (ioredis retries every few hundred milliseconds).
 */
export function dedupedLog(log: (message: string) => void, windowMs: number, now: () => number = Date.now): (message: string) => void {
  const seen = new Map<string, { at: number; repeats: number }>();
  return (message) => {
    const t = now();
    const last = seen.get(message);
    if (last && t - last.at < windowMs) {
      last.repeats++;
      return;
    }
    log(last && last.repeats > 0 ? `${message} (repeated ${last.repeats} times in the last ${Math.round((t - last.at) / 1000)} s)` : message);
    seen.set(message, { at: t, repeats: 0 });
    if (seen.size > 100) seen.delete(seen.keys().next().value as string);
  };
}

function configHash(target: WatchTarget): string {
  return createHash('sha256').update(JSON.stringify({ ...target, warnings: undefined })).digest('hex');
}

/** The fields every job log line carries: which job, for which target and subject. */
function jobFields(job: Job | undefined): LogFields {
  if (!job) return {};
  const data = (job.data ?? {}) as Partial<VerifyReleasePayload & VerifyImagePayload & DiscoverTargetPayload>;
  return {
    jobId: job.id,
    job: job.name,
    target: data.target,
    ...(data.image ? { image: data.image, tag: data.tag } : data.tag ? { release: data.tag } : {}),
    ...(data.trigger ? { trigger: data.trigger } : {}),
  };
}

/** The checks an `undecided checks: a (code), b (code)` failure names, as a field. */
function checksIn(err: unknown): LogFields {
  const m = err instanceof Error ? /^undecided checks: (.+)$/.exec(err.message) : null;
  return m ? { checks: m[1].split(', ') } : {};
}
