import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { ServiceConfig } from '@provwatch/config';
import { SERVICE_CONFIG } from '@provwatch/service-core';
import { ApiError } from '../errors/api-error';
import { ACCESS_LEVEL, type AccessLevel } from './access.decorator';

/** Constant-time comparison of equal-length digests: the token's length leaks nothing either. */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** Checks `Authorization: Bearer <PROVWATCH_API_TOKEN>` where the endpoint's access level asks for it. */
@Injectable()
export class ApiTokenGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(SERVICE_CONFIG) private readonly config: ServiceConfig,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const level = this.reflector.getAllAndOverride<AccessLevel | undefined>(ACCESS_LEVEL, [context.getHandler(), context.getClass()]) ?? 'public';
    if (level === 'public' || (level === 'read' && !this.config.apiReadAuth)) return true;
    if (!this.config.apiToken) throw new ApiError(403, 'write-disabled', 'write endpoints are disabled: set PROVWATCH_API_TOKEN to enable them');
    const header = context.switchToHttp().getRequest<IncomingMessage>().headers.authorization;
    const match = /^Bearer (\S+)$/i.exec(header ?? '');
    if (!match) throw new ApiError(401, 'unauthorized', 'this endpoint needs Authorization: Bearer <PROVWATCH_API_TOKEN>');
    if (!sameSecret(match[1], this.config.apiToken)) throw new ApiError(401, 'unauthorized', 'the API token is not valid');
    return true;
  }
}
