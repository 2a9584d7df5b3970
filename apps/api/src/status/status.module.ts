import { Module } from '@nestjs/common';
import { MetricsRepository, PollStateFeed, type PrismaClient, StatusRepository, VerdictVersionFeed } from '@provwatch/persistence';
import type { WatchlistSource } from '@provwatch/config';
import { WATCHLIST_SOURCE, PRISMA } from '@provwatch/service-core';
import { QueuesModule } from '../queues/queues.module';
import { BadgesController } from './badges.controller';
import { PollHealthCache } from './poll-health.cache';
import { POLL_HEALTH, STATUS_REPOSITORY, VERDICT_CACHE } from './status.tokens';
import { VerdictReadCache } from './verdict-read-cache';
import { TargetsController } from './targets.controller';

/** The REST status API: targets, releases, checks with evidence, run history, badges, re-verify. */
@Module({
  imports: [QueuesModule],
  controllers: [TargetsController, BadgesController],
  providers: [
    { provide: STATUS_REPOSITORY, inject: [PRISMA], useFactory: (prisma: PrismaClient) => new StatusRepository(prisma) },
    {
      provide: POLL_HEALTH,
      inject: [PRISMA, WATCHLIST_SOURCE],
      useFactory: (prisma: PrismaClient, watchlist: WatchlistSource) => {
        // A feed of its own (its horizon is this consumer's previous read); a new watchlist is a new
        // array, so the next read is complete again.
        const watched = watchlist.derived((w) => w.targets.map((t) => ({ name: t.name, keepLast: t.releases.keepLast })));
        const feed = new PollStateFeed(new MetricsRepository(prisma), watched);
        return new PollHealthCache(() => feed.read());
      },
    },
    {
      provide: VERDICT_CACHE,
      inject: [PRISMA, WATCHLIST_SOURCE],
      useFactory: (prisma: PrismaClient, watchlist: WatchlistSource) => {
        const names = watchlist.derived((w) => w.targets.map((t) => t.name));
        const feed = new VerdictVersionFeed(new MetricsRepository(prisma), names);
        const cache = new VerdictReadCache({ versions: () => feed.read() });
        watchlist.onChange(() => cache.clear());
        return cache;
      },
    },
  ],
})
export class StatusModule {}
