import { Module } from '@nestjs/common';
import { MetricsRepository, type PrismaClient, StatusRepository } from '@provwatch/persistence';
import { PRISMA } from '../persistence/persistence.module';
import { QueuesModule } from '../queues/queues.module';
import { BadgesController } from './badges.controller';
import { STATUS_REPOSITORY, VERDICT_CACHE } from './status.tokens';
import { VerdictReadCache } from './verdict-read-cache';
import { TargetsController } from './targets.controller';

/** The REST status API: targets, releases, checks with evidence, run history, badges, re-verify. */
@Module({
  imports: [QueuesModule],
  controllers: [TargetsController, BadgesController],
  providers: [
    { provide: STATUS_REPOSITORY, inject: [PRISMA], useFactory: (prisma: PrismaClient) => new StatusRepository(prisma) },
    {
      provide: VERDICT_CACHE,
      inject: [PRISMA],
      useFactory: (prisma: PrismaClient) => {
        const versions = new MetricsRepository(prisma);
        return new VerdictReadCache(() => versions.verdictVersion());
      },
    },
  ],
})
export class StatusModule {}
