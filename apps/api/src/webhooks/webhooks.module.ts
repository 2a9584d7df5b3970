import { Module } from '@nestjs/common';
import { QueuesModule } from '../queues/queues.module';
import { GitHubWebhookController } from './github-webhook.controller';

@Module({ imports: [QueuesModule], controllers: [GitHubWebhookController] })
export class WebhooksModule {}
