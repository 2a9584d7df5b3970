import { SetMetadata } from '@nestjs/common';

/**
 * Who may call an endpoint. `public`: anyone (health, metrics, the webhook, which checks its own
 * HMAC). `read`: anyone, or token holders when PROVWATCH_API_READ_AUTH is on. `write`: token
 * holders only, always.
 */
export type AccessLevel = 'public' | 'read' | 'write';
export const ACCESS_LEVEL = 'provwatch:access';
export const Access = (level: AccessLevel) => SetMetadata(ACCESS_LEVEL, level);
