import { ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Controller, Get, HttpStatus, Inject, Res } from '@nestjs/common';
import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import type { ServerResponse } from 'node:http';
import { DEPENDENCY_PROBES, type DependencyProbe } from '@provwatch/service-core';

const PROBE_TIMEOUT_MS = 2000;
const READINESS_SCHEMA: SchemaObject = {
  type: 'object',
  properties: {
    status: { type: 'string', enum: ['ready', 'not-ready'] },
    checks: { type: 'object', additionalProperties: { type: 'string' }, example: { postgres: 'ok', redis: 'ok', schema: 'ok' } },
  },
};

/** Liveness says the process serves requests; readiness that its dependencies answer. */
@ApiTags('operations')
@Controller()
export class HealthController {
  constructor(@Inject(DEPENDENCY_PROBES) private readonly probes: DependencyProbe[]) {}

  @Get('healthz')
  @ApiOperation({ summary: 'Liveness: the process answers (every role, no token)' })
  @ApiOkResponse({ schema: { type: 'object', properties: { status: { type: 'string', enum: ['ok'] } } } })
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('readyz')
  @ApiOperation({ summary: 'Readiness: Postgres and Redis answer and the schema is migrated (every role, no token)' })
  @ApiOkResponse({ description: 'Ready', schema: READINESS_SCHEMA })
  @ApiResponse({ status: 503, description: 'A dependency does not answer; `checks` says which', schema: READINESS_SCHEMA })
  async readyz(@Res({ passthrough: true }) res: ServerResponse): Promise<{ status: 'ready' | 'not-ready'; checks: Record<string, string> }> {
    const results = await Promise.all(
      this.probes.map(async (probe) => {
        try {
          await probe.check(PROBE_TIMEOUT_MS);
          return [probe.name, 'ok'] as const;
        } catch (err) {
          // The error text may contain a host name but never a URL with credentials.
          return [probe.name, `unavailable: ${(err as Error).message}`] as const;
        }
      }),
    );
    const checks = Object.fromEntries(results);
    // A probe's answer, not an API error: the body says which dependency is missing.
    if (results.some(([, state]) => state !== 'ok')) {
      res.statusCode = HttpStatus.SERVICE_UNAVAILABLE;
      return { status: 'not-ready', checks };
    }
    return { status: 'ready', checks };
  }
}
