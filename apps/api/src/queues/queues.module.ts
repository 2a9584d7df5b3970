import { Module } from '@nestjs/common';
import { JobQueueService } from './job-queue.service';

/** One set of BullMQ queue handles for every API module that enqueues. */
@Module({ providers: [JobQueueService], exports: [JobQueueService] })
export class QueuesModule {}
