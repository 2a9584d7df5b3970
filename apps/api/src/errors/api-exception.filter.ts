import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { isDatabaseUnavailable } from '@provwatch/persistence';
import { ApiError } from './api-error';

const BY_STATUS: Record<number, string> = {
  400: 'bad-request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not-found',
  405: 'method-not-allowed',
  413: 'payload-too-large',
  415: 'unsupported-media-type',
  503: 'unavailable',
};

/**
 * Every error, from the API, from Nest (unknown routes) or from the body parser (bad JSON, too
 * large), leaves in one JSON shape. Unexpected errors are logged and answered without detail: a
 * stack trace or a database message is not for clients.
 */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('api');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<ServerResponse>();
    const { status, code, message } = this.describe(exception);
    if (res.headersSent) return;
    const body = JSON.stringify({ error: { code, message } });
    const headers: Record<string, string | number> = { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' };
    // RFC 6750: a 401 for a bearer-protected resource names the scheme.
    if (code === 'unauthorized') headers['www-authenticate'] = 'Bearer realm="provwatch"';
    res.writeHead(status, headers);
    res.end(body);
  }

  private describe(exception: unknown): { status: number; code: string; message: string } {
    if (exception instanceof ApiError) return { status: exception.status, code: exception.code, message: exception.message };
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      // Nest's own errors ("Cannot GET /x") and the health endpoint's structured body.
      const message = typeof response === 'string' ? response : typeof (response as { message?: unknown }).message === 'string' ? (response as { message: string }).message : exception.message;
      return { status, code: BY_STATUS[status] ?? (status >= 500 ? 'internal-error' : 'bad-request'), message };
    }
    // body-parser errors carry a status and a type, not an HttpException.
    const parser = exception as { status?: unknown; type?: unknown };
    if (typeof parser?.status === 'number' && parser.status >= 400 && parser.status < 500) {
      const message =
        parser.type === 'entity.too.large' ? 'the request body is too large' : parser.type === 'entity.parse.failed' ? 'the request body is not valid JSON' : 'the request body could not be read';
      return { status: parser.status, code: BY_STATUS[parser.status] ?? 'bad-request', message };
    }
    // Postgres down or unreachable: the documented 503, one log line, no stack trace.
    if (isDatabaseUnavailable(exception)) {
      this.logger.warn(`database unavailable: ${(exception as Error)?.message?.split('\n').filter(Boolean).pop() ?? String(exception)}`);
      return { status: 503, code: 'unavailable', message: 'the database is unavailable; try again later' };
    }
    this.logger.error(`unexpected error: ${(exception as Error)?.stack ?? String(exception)}`);
    return { status: 500, code: 'internal-error', message: 'internal error' };
  }
}
