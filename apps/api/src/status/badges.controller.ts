import { Controller, Get, Header, Inject, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { WatchlistSource } from '@provwatch/config';
import type { CheckStatus, StatusRepository } from '@provwatch/persistence';
import { Access } from '../auth/access.decorator';
import { WATCHLIST_SOURCE } from '@provwatch/service-core';
import { notFound } from '../errors/api-error';
import { BADGE_SCHEMA, ERROR_SCHEMA } from './openapi.schemas';
import { tagParam, targetParam } from './status.params';
import { STATUS_REPOSITORY, VERDICT_CACHE } from './status.tokens';
import type { VerdictReadCache } from './verdict-read-cache';

const BADGES: Record<CheckStatus | 'none', { message: string; color: string }> = {
  pass: { message: 'verified', color: 'brightgreen' },
  fail: { message: 'failed', color: 'red' },
  missing: { message: 'evidence missing', color: 'orange' },
  error: { message: 'not checked', color: 'lightgrey' },
  // Nothing the project promised applies: no claim either way.
  'not-applicable': { message: 'no evidence promised', color: 'lightgrey' },
  none: { message: 'not verified yet', color: 'lightgrey' },
};

/** shields.io endpoint badges: `https://img.shields.io/endpoint?url=<provwatch>/api/v1/badges/<target>`. */
@ApiTags('badges')
@ApiBearerAuth('api-token')
@Controller('api/v1/badges')
export class BadgesController {
  /** Names of the watched targets, following watchlist reloads. */
  private readonly watched: () => Set<string>;

  constructor(
    @Inject(WATCHLIST_SOURCE) watchlist: WatchlistSource,
    @Inject(STATUS_REPOSITORY) private readonly status: StatusRepository,
    @Inject(VERDICT_CACHE) private readonly cache: VerdictReadCache,
  ) {
    this.watched = watchlist.derived((w) => new Set(w.targets.map((t) => t.name)));
  }

  @Get(':target')
  @Access('read')
  @Header('cache-control', 'public, max-age=60')
  @ApiOperation({ summary: "Badge for the target's newest release (or ?release=<tag>)" })
  @ApiParam({ name: 'target', example: 'pbs-exporter' })
  @ApiQuery({ name: 'release', required: false, example: 'v0.9.0' })
  @ApiOkResponse({ schema: BADGE_SCHEMA })
  @ApiResponse({ status: 400, schema: ERROR_SCHEMA, description: 'Invalid parameter' })
  @ApiResponse({ status: 401, schema: ERROR_SCHEMA, description: 'Token required (PROVWATCH_API_READ_AUTH) or invalid' })
  @ApiResponse({ status: 404, schema: ERROR_SCHEMA, description: 'Unknown target or release' })
  async badge(@Param('target') name: string, @Query('release') release?: string) {
    const target = targetParam(name);
    if (!this.watched().has(target)) throw notFound(`${target} is not a watched target`);
    let status: CheckStatus | null;
    let label = 'supply chain';
    if (release !== undefined) {
      const detail = await this.cache.get(`release\u0000${target}\u0000${tagParam(release)}`, [target], () => this.status.releaseDetail(target, release));
      if (!detail) throw notFound(`${target} has no release ${release}`);
      status = detail.status;
      label = `supply chain ${release}`;
    } else {
      const [row] = await this.cache.get(`summary\u0000${target}`, [target], () => this.status.targetSummaries([target]));
      status = row?.latestRelease?.status ?? null;
    }
    const badge = BADGES[status ?? 'none'];
    return { schemaVersion: 1, label, message: badge.message, color: badge.color };
  }
}
