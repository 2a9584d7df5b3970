import pino, { type DestinationStream, type Logger, type LevelWithSilent } from 'pino';
import { scrubKnown, scrubSecrets } from './log-scrub';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export type LogFields = Record<string, unknown>;

export interface LoggingOptions {
  level: LevelWithSilent;
  /** `auto`: pretty lines on a terminal, JSON lines otherwise (a file, a pipe, a log collector). */
  format: LogFormat;
  /** Values never to be written, whatever they look like (tokens and secrets from the environment). */
  secrets?: readonly string[];
  /** Where lines go (tests); default stdout. */
  destination?: DestinationStream;
  /** Whether the destination is a terminal (default: stdout's). */
  isTty?: boolean;
}

/** LOG_LEVEL and LOG_FORMAT, read leniently: the logger must exist before the configuration is validated (which refuses bad values). */
export function loggingOptionsFrom(env: NodeJS.ProcessEnv): LoggingOptions {
  const level = (LOG_LEVELS as readonly string[]).includes(env.LOG_LEVEL ?? '') ? (env.LOG_LEVEL as LevelWithSilent) : 'info';
  const format = (LOG_FORMATS as readonly string[]).includes(env.LOG_FORMAT ?? '') ? (env.LOG_FORMAT as LogFormat) : 'auto';
  const secrets = [env.GITHUB_TOKEN, env.PROVWATCH_API_TOKEN, env.GITHUB_WEBHOOK_SECRET, ...passwordsIn(env.DATABASE_URL), ...passwordsIn(env.REDIS_URL), ...(env.ALERTMANAGER_URLS ?? '').split(',').flatMap(passwordsIn)];
  return { level, format, secrets: secrets.filter((s): s is string => typeof s === 'string' && s.length > 0) };
}

function passwordsIn(url: string | undefined): string[] {
  if (!url) return [];
  try {
    const parsed = new URL(url.trim());
    return [decodeURIComponent(parsed.password), parsed.password].filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * The process's logger: pino, one JSON object per line (`time` in UTC ISO 8601, `level` as a
 * name, `msg`, `context` and the fields of the event), or the same events as readable lines on
 * a terminal. Every message and string field goes through scrubSecrets and the known secrets.
 */
export function createStructuredLogger(options: LoggingOptions): Logger {
  const known = options.secrets ?? [];
  const scrub = (value: string) => scrubKnown(scrubSecrets(value), known);
  const pretty = options.format === 'pretty' || (options.format === 'auto' && (options.isTty ?? process.stdout.isTTY === true));
  const destination = options.destination ?? pino.destination({ fd: 1, sync: true });
  return pino(
    {
      level: options.level,
      base: undefined,
      messageKey: 'msg',
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (fields) => scrubFields(fields, scrub) as Record<string, unknown>,
      },
      hooks: {
        logMethod(args, method) {
          const scrubbed = args.map((a) => (typeof a === 'string' ? scrub(a) : a));
          return method.apply(this, scrubbed as Parameters<typeof method>);
        },
      },
    },
    pretty ? prettyStream(destination, options.isTty ?? process.stdout.isTTY === true) : destination,
  );
}

function scrubFields(value: unknown, scrub: (s: string) => string, depth = 0): unknown {
  if (typeof value === 'string') return scrub(value);
  if (depth > 4 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => scrubFields(v, scrub, depth + 1));
  if (value instanceof Error) return { type: value.name, message: scrub(value.message) };
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubFields(v, scrub, depth + 1)]));
}

const COLOURS: Record<string, string> = { trace: '90', debug: '36', info: '32', warn: '33', error: '31', fatal: '35' };

/** `2026-12-02T01:40:00.000Z WARN  [worker] message key=value`: the JSON line, for people. */
export function formatPrettyLine(json: string, colour: boolean): string {
  let event: Record<string, unknown>;
  try {
    event = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const { time, level, msg, context, ...fields } = event;
  const label = String(level ?? '').toUpperCase().padEnd(5);
  const shown = colour && COLOURS[String(level)] ? `\x1b[${COLOURS[String(level)]}m${label}\x1b[0m` : label;
  const rest = Object.entries(fields).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' ');
  return `${time} ${shown} ${context ? `[${context}] ` : ''}${msg ?? ''}${rest ? ` ${rest}` : ''}\n`;
}

function prettyStream(destination: DestinationStream, tty: boolean): DestinationStream {
  // Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org).
  const colour = tty && !process.env.NO_COLOR;
  return { write: (line: string) => destination.write(formatPrettyLine(line, colour)) };
}
