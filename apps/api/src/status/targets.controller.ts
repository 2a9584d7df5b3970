import { Controller, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { WatchlistSource, WatchTarget } from '@provwatch/config';
import type { StatusRepository } from '@provwatch/persistence';
import { Access } from '../auth/access.decorator';
import { WATCHLIST_SOURCE } from '@provwatch/service-core';
import { ApiError, badRequest, notFound } from '../errors/api-error';
import { JobQueueService } from '../queues/job-queue.service';
import {
  ERROR_SCHEMA,
  RELEASE_DETAIL_SCHEMA,
  RELEASE_LIST_SCHEMA,
  RUN_LIST_SCHEMA,
  TARGET_DETAIL_SCHEMA,
  TARGET_LIST_SCHEMA,
  VERIFY_ACCEPTED_SCHEMA,
} from './openapi.schemas';
import { presentCheck, presentRelease, presentRun, presentTargetSummary } from './status.presenter';
import { MAX_INT4, decodeCursor, encodeCursor, firstIndexAfter, isRunId, limitParam, runIdParam, tagParam, targetParam } from './status.params';
import type { PollHealthCache } from './poll-health.cache';
import { POLL_HEALTH, STATUS_REPOSITORY, VERDICT_CACHE } from './status.tokens';
import type { VerdictReadCache } from './verdict-read-cache';

const errors = [
  ApiResponse({ status: 400, description: 'Invalid parameter', schema: ERROR_SCHEMA }),
  ApiResponse({ status: 401, description: 'Token required (PROVWATCH_API_READ_AUTH) or invalid', schema: ERROR_SCHEMA }),
  ApiResponse({ status: 404, description: 'Unknown target or release', schema: ERROR_SCHEMA }),
];
const applyAll = (...decorators: MethodDecorator[]): MethodDecorator => (target, key, descriptor) => {
  for (const d of decorators) d(target, key, descriptor);
};

type ReleaseCursor = { p: string | null; i: number };
// Only what encodeCursor wrote passes: a canonical ISO time (or null) and a release id that fits
// the integer column. Anything else would reach Postgres as a value it refuses (a 500).
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const isIsoTime = (v: unknown): v is string => typeof v === 'string' && ISO_TIME.test(v) && !Number.isNaN(Date.parse(v)) && new Date(v).toISOString() === v;
const isReleaseCursor = (v: unknown): v is ReleaseCursor =>
  typeof v === 'object' &&
  v !== null &&
  Number.isSafeInteger((v as ReleaseCursor).i) &&
  (v as ReleaseCursor).i >= 0 &&
  (v as ReleaseCursor).i <= MAX_INT4 &&
  ((v as ReleaseCursor).p === null || isIsoTime((v as ReleaseCursor).p));
const isTargetCursor = (v: unknown): v is string => typeof v === 'string' && v.length <= 63;

/** The watched targets, their releases, each release's checks with evidence, and run history. */
@ApiTags('status')
@ApiBearerAuth('api-token')
@Controller('api/v1/targets')
export class TargetsController {
  /** The watched targets by name and their sorted names, following watchlist reloads. */
  private readonly watched: () => { targets: Map<string, WatchTarget>; names: string[] };

  constructor(
    @Inject(WATCHLIST_SOURCE) watchlist: WatchlistSource,
    @Inject(STATUS_REPOSITORY) private readonly status: StatusRepository,
    @Inject(VERDICT_CACHE) private readonly cache: VerdictReadCache,
    @Inject(POLL_HEALTH) private readonly polls: PollHealthCache,
    private readonly jobs: JobQueueService,
  ) {
    this.watched = watchlist.derived((w) => {
      const targets = new Map(w.targets.map((t) => [t.name, t]));
      return { targets, names: [...targets.keys()].sort() };
    });
  }

  @Get()
  @Access('read')
  @ApiOperation({ summary: 'Watched targets with their latest verdict', description: 'Sorted by name, paginated with the `next` cursor.' })
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } })
  @ApiQuery({ name: 'cursor', required: false, schema: { type: 'string' } })
  @ApiOkResponse({ schema: TARGET_LIST_SCHEMA })
  @applyAll(...errors)
  async list(@Query('limit') limit?: string, @Query('cursor') cursor?: string) {
    const size = limitParam(limit);
    const after = decodeCursor(cursor, isTargetCursor);
    const { targets, names } = this.watched();
    const start = after === undefined ? 0 : firstIndexAfter(names, after);
    const page = names.slice(start, start + size);
    return this.cache.get(`targets\u0000${size}\u0000${after ?? ''}`, page, async () => {
      const rows = new Map((await this.status.targetSummaries(page)).map((r) => [r.name, r]));
      const more = start + size < names.length;
      return { items: page.map((n) => presentTargetSummary(targets.get(n)!, rows.get(n))), next: more ? encodeCursor(page.at(-1)) : null };
    });
  }

  @Get(':target')
  @Access('read')
  @ApiOperation({ summary: 'One target: latest verdict, configuration, poll health' })
  @ApiParam({ name: 'target', example: 'pbs-exporter' })
  @ApiOkResponse({ schema: TARGET_DETAIL_SCHEMA })
  @applyAll(...errors)
  async get(@Param('target') name: string) {
    const target = this.target(name);
    // The verdict summary is cached until it changes; poll health is at most about a second old.
    const [[row], polls] = await Promise.all([this.cache.get(`summary\u0000${target.name}`, [target.name], () => this.status.targetSummaries([target.name])), this.polls.get(target.name)]);
    return {
      ...presentTargetSummary(target, row),
      sourceUri: target.sourceUri,
      identity: target.identity,
      images: target.images.map((i) => i.ref),
      polls: polls.map((p) => ({ source: p.source, lastPolledAt: p.lastPolledAt?.toISOString() ?? null, lastSuccessAt: p.lastSuccessAt?.toISOString() ?? null, lastErrorCode: p.lastErrorCode })),
    };
  }

  @Get(':target/releases')
  @Access('read')
  @ApiOperation({ summary: "A target's releases, newest first, with each release's verdict" })
  @ApiParam({ name: 'target', example: 'pbs-exporter' })
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } })
  @ApiQuery({ name: 'cursor', required: false, schema: { type: 'string' } })
  @ApiOkResponse({ schema: RELEASE_LIST_SCHEMA })
  @applyAll(...errors)
  async releases(@Param('target') name: string, @Query('limit') limit?: string, @Query('cursor') cursor?: string) {
    const target = this.target(name);
    const size = limitParam(limit);
    const before = decodeCursor(cursor, isReleaseCursor);
    return this.cache.get(`releases\u0000${target.name}\u0000${size}\u0000${cursor ?? ''}`, [target.name], async () => {
      const page = await this.status.releases(target.name, { limit: size, before: before && { publishedAt: before.p ? new Date(before.p) : null, id: before.i } });
      if (!page) return { items: [], next: null };
      return { items: page.rows.map(presentRelease), next: page.next ? encodeCursor({ p: page.next.publishedAt?.toISOString() ?? null, i: page.next.id }) : null };
    });
  }

  @Get(':target/releases/:tag')
  @Access('read')
  @ApiOperation({ summary: 'One release: every check of the release and of its images at the tag, with evidence' })
  @ApiParam({ name: 'target', example: 'pbs-exporter' })
  @ApiParam({ name: 'tag', example: 'v0.9.0' })
  @ApiOkResponse({ schema: RELEASE_DETAIL_SCHEMA })
  @applyAll(...errors)
  async release(@Param('target') name: string, @Param('tag') tag: string) {
    const target = this.target(name);
    const detail = await this.cache.get(`release\u0000${target.name}\u0000${tagParam(tag)}`, [target.name], () => this.status.releaseDetail(target.name, tag));
    if (!detail) throw notFound(`${target.name} has no release ${tag}`);
    const { release } = detail;
    return {
      target: target.name,
      release: presentRelease({ ...release, status: detail.status, counts: countStatuses(detail.checks.map((c) => c.status)) }),
      status: detail.status,
      images: detail.images,
      checks: detail.checks.map(presentCheck),
    };
  }

  @Get(':target/releases/:tag/runs')
  @Access('read')
  @ApiOperation({
    summary: 'Verification history of a release and its images, newest first',
    description: 'Keyset pagination on the run id: follow `next` with `?cursor=`, or pass `?before=<run id>` to list the runs older than that one.',
  })
  @ApiParam({ name: 'target', example: 'pbs-exporter' })
  @ApiParam({ name: 'tag', example: 'v0.9.0' })
  @ApiQuery({ name: 'limit', required: false, schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 } })
  @ApiQuery({ name: 'cursor', required: false, schema: { type: 'string' }, description: 'The `next` of the previous page.' })
  @ApiQuery({ name: 'before', required: false, schema: { type: 'string', pattern: '^[1-9][0-9]{0,18}$' }, description: 'Only runs with a smaller id (not together with `cursor`).' })
  @ApiOkResponse({ schema: RUN_LIST_SCHEMA })
  @applyAll(...errors)
  async runs(@Param('target') name: string, @Param('tag') tag: string, @Query('limit') limit?: string, @Query('cursor') cursor?: string, @Query('before') beforeId?: string) {
    const target = this.target(name);
    const size = limitParam(limit);
    const fromCursor = decodeCursor(cursor, isRunId);
    const fromBefore = runIdParam('before', beforeId);
    if (fromCursor !== undefined && fromBefore !== undefined) throw badRequest('cursor and before cannot be used together');
    const before = fromBefore ?? (fromCursor === undefined ? undefined : BigInt(fromCursor));
    const page = await this.cache.get(`runs\u0000${target.name}\u0000${tagParam(tag)}\u0000${size}\u0000${before ?? ''}`, [target.name], () =>
      this.status.runs(target.name, tag, { limit: size, before }),
    );
    if (!page) throw notFound(`${target.name} has no release ${tag}`);
    return { items: page.rows.map(presentRun), next: page.next !== undefined ? encodeCursor(page.next.toString()) : null };
  }

  @Post(':target/releases/:tag/verify')
  @HttpCode(202)
  @Access('write')
  @ApiOperation({ summary: 'Verify a release (and its images at the tag) again now', description: 'Needs the API token. Repeated requests within 10 seconds collapse into one job.' })
  @ApiParam({ name: 'target', example: 'pbs-exporter' })
  @ApiParam({ name: 'tag', example: 'v0.9.0' })
  @ApiAcceptedResponse({ schema: VERIFY_ACCEPTED_SCHEMA })
  @ApiResponse({ status: 403, description: 'Write endpoints disabled (no PROVWATCH_API_TOKEN)', schema: ERROR_SCHEMA })
  @ApiResponse({ status: 503, description: 'The queue (Redis) is unavailable', schema: ERROR_SCHEMA })
  @applyAll(...errors)
  async verify(@Param('target') name: string, @Param('tag') tag: string) {
    const target = this.target(name);
    const subject = await this.status.verificationSubject(target.name, tagParam(tag));
    if (!subject) throw notFound(`${target.name} has no live release ${tag}`);
    const watchedImages = new Set(target.images.map((i) => i.ref));
    try {
      const jobs = [await this.jobs.enqueueReleaseVerification({ target: target.name, tag, releaseId: subject.githubReleaseId, trigger: 'manual' })];
      for (const image of subject.images.filter((i) => watchedImages.has(i.repository))) {
        jobs.push(await this.jobs.enqueueImageVerification({ target: target.name, image: image.repository, tag, digest: image.digest, trigger: 'manual' }));
      }
      return { target: target.name, tag, jobs };
    } catch {
      throw new ApiError(503, 'unavailable', 'the job queue is not reachable; try again later');
    }
  }

  private target(name: string): WatchTarget {
    const target = this.watched().targets.get(targetParam(name));
    if (!target) throw notFound(`${name} is not a watched target`);
    return target;
  }
}

function countStatuses(statuses: string[]) {
  const c = { pass: 0, fail: 0, missing: 0, error: 0, 'not-applicable': 0 };
  for (const s of statuses) c[s as keyof typeof c]++;
  return c;
}
