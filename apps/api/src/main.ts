import 'reflect-metadata';
import { Logger, ShutdownSignal } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { ConfigError, WatchlistSource, loadServiceConfig } from '@provwatch/config';
import { createStructuredLogger, loggingOptionsFrom } from '@provwatch/observability';
import { NestStructuredLogger, SCHEMA_GATE, type SchemaGate } from '@provwatch/service-core';
import type { Logger as PinoLogger } from 'pino';
import { AppModule } from './app.module';
import { requestLog } from './logging/request-log.middleware';
import { SERVICE_NODE_FLAGS, missingServiceNodeFlags } from './runtime-flags';

/**
 * Starts provwatch with the roles PROVWATCH_ROLES names. Configuration is validated before
 * anything starts: a bad watchlist or environment stops the process with every problem listed.
 */
export async function bootstrap(env: NodeJS.ProcessEnv = process.env): Promise<{ close(): Promise<void>; port: number }> {
  // First of all, so that every line of the process, Nest's included, is in one format.
  const root = processLogger(env);
  const nestLogger = new NestStructuredLogger(root);
  Logger.overrideLogger(nestLogger);
  const logger = new Logger('provwatch');
  let config, watchlist;
  try {
    config = loadServiceConfig(env);
    // Reloaded on SIGHUP and when the file changes; an invalid file is refused, the old one stays.
    watchlist = WatchlistSource.open(config.watchlistPath, { warn: (m) => logger.warn(m), info: (m) => logger.log(m) });
  } catch (err) {
    // Each problem with its file:line or variable, in the log's own format (and then on stderr).
    if (err instanceof ConfigError) root.fatal({ context: 'provwatch', problems: err.message.split('\n').slice(1).map((line) => line.trim()) }, 'invalid configuration');
    throw err;
  }
  for (const target of watchlist.current().targets) for (const warning of target.warnings) logger.warn(warning);
  const missingFlags = missingServiceNodeFlags();
  if (missingFlags.length > 0) logger.warn(`started without ${missingFlags.join(' ')} (node ${SERVICE_NODE_FLAGS.join(' ')} dist/apps/api/src/main.js, as npm start and the image do): long GC pauses under load are possible (docs/configuration.md)`);
  // The watchlist loader refused any subject_regexp outside the subset (libs/config regexp-safety.ts).
  logger.log('identity patterns: backtracking-safe subset enforced (no nested quantifiers, no overlapping repeated alternatives)');

  // rawBody: the webhook's HMAC is over the exact bytes GitHub sent, not a re-serialisation.
  const app = await NestFactory.create<NestExpressApplication>(AppModule.register(config, watchlist), { logger: nestLogger, rawBody: true, bodyParser: true });
  app.use(requestLog(root.child({ context: 'http' })));
  app.useBodyParser('json', { limit: '1mb' });
  app.disable('x-powered-by');
  // Every shutdown signal but SIGHUP, which reloads the watchlist (below) instead of stopping.
  app.enableShutdownHooks(Object.values(ShutdownSignal).filter((s) => s !== ShutdownSignal.SIGHUP));
  if (config.roles.includes('api')) {
    const document = SwaggerModule.createDocument(
      app,
      new DocumentBuilder()
        .setTitle('provwatch status API')
        .setDescription('Verdicts of the watched releases and images, with the evidence they rest on. Errors: `{ "error": { "code", "message" } }`.')
        .setVersion('v1')
        // An opaque shared secret, not a JWT (Swagger's default hint).
        .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'opaque', description: 'PROVWATCH_API_TOKEN' }, 'api-token')
        .build(),
    );
    SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs/openapi.json', yamlDocumentUrl: 'api/docs/openapi.yaml' });
  }
  // Readiness is meaningful from the first request: the first migration attempt has settled
  // (bounded by the connect timeout; a failure is retried in the background, see SchemaGate).
  await app.get<SchemaGate>(SCHEMA_GATE).firstAttempt.catch(() => undefined);
  await app.listen(config.port, '0.0.0.0');
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  logger.log(`roles ${config.roles.join(',')}; ${watchlist.current().targets.length} target(s); listening on ${port}`);
  const reloadOnHangup = () => void watchlist.reload('SIGHUP');
  process.on('SIGHUP', reloadOnHangup);
  watchlist.watch();
  const close = () => {
    process.off('SIGHUP', reloadOnHangup);
    watchlist.close();
    return app.close();
  };
  return { close, port };
}

let processRoot: PinoLogger | undefined;

/** One structured logger per process (bootstrap may run more than once in a test process). */
function processLogger(env: NodeJS.ProcessEnv): PinoLogger {
  processRoot ??= createStructuredLogger(loggingOptionsFrom(env));
  return processRoot;
}

if (require.main === module) {
  bootstrap().catch((err) => {
    if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
    else {
      // One line with the reason; the stack only when asked for (LOG_LEVEL=debug).
      const root = processLogger(process.env);
      root.fatal({ context: 'provwatch', ...(root.isLevelEnabled('debug') ? { stack: (err as Error).stack } : {}) }, `provwatch failed to start: ${(err as Error).message ?? err}`);
    }
    process.exit(1);
  });
}
