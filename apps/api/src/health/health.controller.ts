import { ApiTags } from '@nestjs/swagger';
import { Controller, Get, HttpStatus, Inject, Res } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { DEPENDENCY_PROBES, type DependencyProbe } from './dependency.probe';

const PROBE_TIMEOUT_MS = 2000;

/** Liveness says the process serves requests; readiness that its dependencies answer. */
@ApiTags('operations')
@Controller()
export class HealthController {
  constructor(@Inject(DEPENDENCY_PROBES) private readonly probes: DependencyProbe[]) {}

  @Get('healthz')
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('readyz')
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
