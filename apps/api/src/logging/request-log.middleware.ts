import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';

/**
 * One log line per HTTP request when its response is finished: method, the route template (not
 * the path: no ids, and never the query string, which may carry a token), status and duration.
 * Headers are never logged (Authorization, webhook signatures).
 */
export function requestLog(logger: Logger) {
  // Express's request, as far as read here (its types are not a dependency of this project).
  return (req: IncomingMessage & { baseUrl?: string; route?: { path?: unknown } }, res: ServerResponse, next: () => void): void => {
    const started = process.hrtime.bigint();
    res.once('finish', () => {
      const route = req.route?.path ? `${req.baseUrl ?? ''}${String(req.route.path)}` : '(no route)';
      const durationMs = Math.round(Number(process.hrtime.bigint() - started) / 1e5) / 10;
      const level = res.statusCode >= 500 ? 'warn' : 'info';
      logger[level]({ method: req.method, route, status: res.statusCode, durationMs }, 'request');
    });
    next();
  };
}
