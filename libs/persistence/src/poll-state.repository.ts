import type { PrismaClient } from './generated/client';

export interface PollOutcome {
  etag?: string;
  errorCode?: string;
  rateLimitRemaining?: number;
  rateLimitResetAt?: Date;
}

/** Per target and source (`github-releases`, `oci-tags:<repo>`): ETag, last success, last error. */
export class PollStateRepository {
  constructor(private readonly prisma: PrismaClient) {}

  get(targetId: number, source: string) {
    return this.prisma.pollState.findUnique({ where: { targetId_source: { targetId, source } } });
  }

  async record(targetId: number, source: string, at: Date, outcome: PollOutcome): Promise<void> {
    const ok = outcome.errorCode === undefined;
    const data = {
      lastPolledAt: at,
      ...(ok ? { lastSuccessAt: at, lastErrorCode: null } : { lastErrorCode: outcome.errorCode }),
      ...(outcome.etag !== undefined ? { etag: outcome.etag } : {}),
      ...(outcome.rateLimitRemaining !== undefined ? { rateLimitRemaining: outcome.rateLimitRemaining } : {}),
      ...(outcome.rateLimitResetAt !== undefined ? { rateLimitResetAt: outcome.rateLimitResetAt } : {}),
    };
    await this.prisma.pollState.upsert({ where: { targetId_source: { targetId, source } }, create: { targetId, source, ...data }, update: data });
  }
}
