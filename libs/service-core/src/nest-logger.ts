import type { LoggerService } from '@nestjs/common';
import type { LogFields } from '@provwatch/observability';
import type { Logger } from 'pino';

/**
 * Nest's logger interface over the structured logger: Nest's and provwatch's own lines in one
 * format. A message may be an object (`{ msg, ...fields }`) to carry fields. Nest's start-up
 * chatter (modules loaded, every route mapped) is debug, not info.
 */
export class NestStructuredLogger implements LoggerService {
  private static readonly STARTUP_CONTEXTS = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer', 'NestFactory', 'NestApplication', 'RouterModule']);

  constructor(readonly pino: Logger) {}

  log(message: unknown, ...rest: unknown[]): void {
    const context = contextOf(rest);
    this.write(context && NestStructuredLogger.STARTUP_CONTEXTS.has(context) ? 'debug' : 'info', message, context, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.write('error', message, contextOf(rest), rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.write('warn', message, contextOf(rest), rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.write('debug', message, contextOf(rest), rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.write('trace', message, contextOf(rest), rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.write('fatal', message, contextOf(rest), rest);
  }

  private write(level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal', message: unknown, context: string | undefined, rest: unknown[]): void {
    const fields: LogFields = context ? { context } : {};
    // Nest passes an error's stack as the second argument of error(): kept out of the line (a
    // stack is for a debugger, not for a log pipeline), its first line kept as the reason.
    if (level === 'error' && typeof rest[0] === 'string' && rest.length > 1 && /\n\s+at /.test(rest[0])) fields.reason = rest[0].split('\n')[0];
    if (message instanceof Error) return this.pino[level]({ ...fields, err: { type: message.name, message: message.message } }, message.message);
    if (message !== null && typeof message === 'object') {
      const { msg, ...more } = message as LogFields;
      return this.pino[level]({ ...fields, ...more }, typeof msg === 'string' ? msg : '');
    }
    this.pino[level](fields, String(message));
  }
}

function contextOf(rest: unknown[]): string | undefined {
  const last = rest[rest.length - 1];
  return typeof last === 'string' && !/\s/.test(last) ? last : undefined;
}
