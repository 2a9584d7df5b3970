import { Controller, Headers, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiHeader, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ServiceConfig, WatchlistSource } from '@provwatch/config';
import type { ProvwatchMetrics } from '@provwatch/observability';
import { Access } from '../auth/access.decorator';
import { METRICS, SERVICE_CONFIG, WATCHLIST_SOURCE } from '@provwatch/service-core';
import { ApiError, badRequest } from '../errors/api-error';
import { JobQueueService } from '../queues/job-queue.service';
import { ERROR_SCHEMA } from '../status/openapi.schemas';
import { validGitHubSignature } from './github-signature';

const WEBHOOK_ANSWER_SCHEMA: SchemaObject = {
  type: 'object',
  properties: {
    event: { type: 'string', nullable: true, example: 'release' },
    queued: { type: 'array', items: { type: 'string' }, description: 'Targets whose discovery was queued.' },
    duplicate: { type: 'boolean', description: 'Present and true when this X-GitHub-Delivery was already handled in the last 3 days: nothing queued.' },
  },
};

/** `provwatch_webhook_deliveries_total` outcomes: a bounded set, whatever a sender puts in its headers. */
const OUTCOMES = ['queued', 'duplicate', 'ignored', 'signature-invalid', 'not-configured', 'not-watched', 'invalid', 'unavailable', 'internal-error'] as const;
type Outcome = (typeof OUTCOMES)[number];

type WebhookAnswer = { event: string | null; queued: string[]; duplicate?: true };

/**
 * GitHub `release` webhooks: a published, edited or deleted release triggers discovery of the
 * target at once instead of at the next poll. The delivery is authenticated by its HMAC, never by
 * the API token; the payload is only used to find the target (the release itself is read from
 * the GitHub API by the worker, as for a poll).
 */
@ApiTags('webhooks')
@Controller('api/v1/webhooks')
export class GitHubWebhookController {
  /** Watched target names by lower-cased GitHub repository, following watchlist reloads. */
  private readonly byRepository: () => Map<string, string[]>;

  constructor(
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
    @Inject(WATCHLIST_SOURCE) watchlist: WatchlistSource,
    private readonly jobs: JobQueueService,
    @Inject(METRICS) private readonly metrics: ProvwatchMetrics,
  ) {
    // Every outcome from zero, so that rate() sees the first rejected delivery too.
    for (const outcome of OUTCOMES) metrics.webhookDeliveriesTotal.inc({ outcome }, 0);
    this.byRepository = watchlist.derived((w) => {
      const byRepository = new Map<string, string[]>();
      for (const t of w.targets) {
        const key = t.github.toLowerCase();
        byRepository.set(key, [...(byRepository.get(key) ?? []), t.name]);
      }
      return byRepository;
    });
  }

  @Post('github')
  @HttpCode(202)
  @Access('public')
  @ApiOperation({
    summary: 'GitHub release webhook (content type application/json, secret GITHUB_WEBHOOK_SECRET, event "Releases")',
    description: 'Authenticated by the HMAC in X-Hub-Signature-256, never by the API token. `release` events queue discovery of the watched targets of the repository (202); `ping` and other events are answered 200 and queue nothing. A delivery id (X-GitHub-Delivery) seen in the last 3 days is answered 200 with `duplicate: true` and queues nothing. Bodies over 1 MiB are refused.',
  })
  @ApiHeader({ name: 'x-hub-signature-256', required: true, description: 'sha256=<hex HMAC-SHA256 of the raw body under GITHUB_WEBHOOK_SECRET>' })
  @ApiHeader({ name: 'x-github-event', required: true, description: 'release (ping is answered, other events are ignored)' })
  @ApiHeader({ name: 'x-github-delivery', required: false, description: "The delivery's GUID; a release delivery is acted on once (kept for 3 days)" })
  @ApiBody({ required: true, schema: { type: 'object', description: 'The GitHub event payload; only repository.full_name is read.', properties: { action: { type: 'string' }, repository: { type: 'object', properties: { full_name: { type: 'string', example: 'natrontech/pbs-exporter' } } } } } })
  @ApiAcceptedResponse({ description: 'Discovery queued for these targets', schema: WEBHOOK_ANSWER_SCHEMA })
  @ApiOkResponse({ description: 'ping, an event that is not about releases, or a delivery already handled: nothing queued', schema: WEBHOOK_ANSWER_SCHEMA })
  @ApiResponse({ status: 400, description: 'A signed release event without repository.full_name, or a malformed X-GitHub-Delivery', schema: ERROR_SCHEMA })
  @ApiResponse({ status: 401, description: 'Signature missing or wrong', schema: ERROR_SCHEMA })
  @ApiResponse({ status: 404, description: 'The repository is not watched', schema: ERROR_SCHEMA })
  @ApiResponse({ status: 413, description: 'Body larger than 1 MiB', schema: ERROR_SCHEMA })
  @ApiResponse({ status: 415, description: 'Content type is not application/json', schema: ERROR_SCHEMA })
  @ApiResponse({ status: 503, description: 'No secret configured, or the queue is unavailable', schema: ERROR_SCHEMA })
  async receive(
    @Req() req: IncomingMessage & { rawBody?: Buffer; body?: unknown },
    @Res({ passthrough: true }) res: ServerResponse,
    @Headers('x-hub-signature-256') signature?: string,
    @Headers('x-github-event') event?: string,
    @Headers('x-github-delivery') delivery?: string,
  ): Promise<WebhookAnswer> {
    try {
      const answer = await this.handle(req, res, signature, event, delivery);
      this.count(answer.duplicate ? 'duplicate' : answer.queued.length > 0 ? 'queued' : 'ignored');
      return answer;
    } catch (err) {
      this.count(outcomeOf(err));
      throw err;
    }
  }

  private count(outcome: Outcome): void {
    this.metrics.webhookDeliveriesTotal.inc({ outcome });
  }

  private async handle(
    req: IncomingMessage & { rawBody?: Buffer; body?: unknown },
    res: ServerResponse,
    signature: string | undefined,
    event: string | undefined,
    delivery: string | undefined,
  ): Promise<WebhookAnswer> {
    const secret = this.config.githubWebhookSecret;
    if (!secret) throw new ApiError(503, 'webhook-not-configured', 'the GitHub webhook is disabled: set GITHUB_WEBHOOK_SECRET');
    if (!req.rawBody || !validGitHubSignature(req.rawBody, signature, secret)) {
      throw new ApiError(401, 'webhook-signature-invalid', 'X-Hub-Signature-256 is missing or does not match the body');
    }
    // Nothing is queued for these: 200, not 202.
    if (event !== 'release') {
      res.statusCode = 200;
      return { event: event ?? null, queued: [] };
    }
    // A hook set to application/x-www-form-urlencoded signs a body we do not read.
    if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
      throw new ApiError(415, 'unsupported-media-type', 'set the webhook content type to application/json');
    }
    const repository = (req.body as { repository?: { full_name?: unknown } } | undefined)?.repository?.full_name;
    if (typeof repository !== 'string' || !/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/.test(repository)) throw badRequest('the payload has no repository.full_name');
    const targets = this.byRepository().get(repository.toLowerCase());
    if (!targets) throw new ApiError(404, 'not-found', `${repository} is not watched by this provwatch`);
    // The signature has no timestamp: without the delivery id a captured delivery could be
    // replayed at will. Senders other than GitHub may leave it out.
    if (delivery !== undefined && !/^[A-Za-z0-9-]{1,100}$/.test(delivery)) throw badRequest('X-GitHub-Delivery is not a delivery id');
    let claimed = false;
    try {
      if (delivery) {
        claimed = await this.jobs.claimDelivery(delivery);
        if (!claimed) {
          res.statusCode = 200;
          return { event, queued: [], duplicate: true };
        }
      }
      for (const target of targets) await this.jobs.enqueueDiscovery(target, 'webhook');
    } catch {
      if (claimed) await this.jobs.releaseDelivery(delivery!).catch(() => undefined);
      throw new ApiError(503, 'unavailable', 'the job queue is not reachable; GitHub will show the failed delivery for redelivery');
    }
    return { event, queued: targets };
  }
}

function outcomeOf(err: unknown): Outcome {
  if (!(err instanceof ApiError)) return 'internal-error';
  switch (err.code) {
    case 'webhook-signature-invalid':
      return 'signature-invalid';
    case 'webhook-not-configured':
      return 'not-configured';
    case 'not-found':
      return 'not-watched';
    case 'unavailable':
      return 'unavailable';
    default:
      return 'invalid';
  }
}
