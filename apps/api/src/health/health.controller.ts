import { ApiTags } from '@nestjs/swagger';
import { Controller, Get, HttpException, HttpStatus, Inject } from '@nestjs/common';
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
  async readyz(): Promise<{ status: 'ready'; checks: Record<string, 'ok'> }> {
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
    if (results.some(([, state]) => state !== 'ok')) {
      throw new HttpException({ status: 'not-ready', checks }, HttpStatus.SERVICE_UNAVAILABLE);
    }
    return { status: 'ready', checks: checks as Record<string, 'ok'> };
  }
}
