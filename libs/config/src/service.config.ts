import { type ConfigProblem, ConfigError } from './config.error';

export type Role = 'api' | 'worker';

/** Everything the service reads from the environment, validated once at start. */
export interface ServiceConfig {
  watchlistPath: string;
  databaseUrl: string;
  redisUrl: string;
  port: number;
  roles: Role[];
  githubApiUrl: string;
  /** Never logged; only sent to githubApiUrl's host. */
  githubToken?: string;
  trustedRootFile?: string;
  tufMirrorUrl?: string;
  rekorUrl: string;
  alertmanagerUrls: string[];
  apiToken?: string;
  /** Read endpoints need the API token too (PROVWATCH_API_READ_AUTH=true); write endpoints always do. */
  apiReadAuth: boolean;
  githubWebhookSecret?: string;
  /** `host:port` registries that may be spoken to over plain HTTP. */
  insecureRegistries: string[];
  /** A Docker-style config.json with registry logins (PROVWATCH_REGISTRY_AUTH_FILE, else DOCKER_CONFIG/config.json). */
  registryAuthFile?: string;
  verifyConcurrency: number;
  /**
   * Overall deadline of one verify job, release or image (PROVWATCH_VERIFY_DEADLINE, seconds):
   * past it the job's requests are aborted and the run is recorded `error/verification-timeout`.
   */
  verifyDeadlineSeconds: number;
  /** Overall deadline of one download, however steadily it trickles (PROVWATCH_DOWNLOAD_DEADLINE, seconds). */
  downloadDeadlineSeconds: number;
  /** Evidence bytes one release verification may hold in memory (PROVWATCH_EVIDENCE_BUDGET, MiB). */
  evidenceBudgetMiB: number;
  /** BullMQ key prefix in Redis: several provwatch installations (or test runs) can share one Redis. */
  queuePrefix: string;
  /** Base URLs of Alertmanager's API for the direct push (ALERTMANAGER_URLS), resent this often while active. */
  alertResendIntervalSeconds: number;
  /** Public base URL of this service, used for links in alerts (PROVWATCH_PUBLIC_URL). */
  publicUrl?: string;
  /** How often the worker looks for a newer Sigstore trust root (PROVWATCH_TRUST_ROOT_REFRESH, seconds). */
  trustRootRefreshSeconds: number;
  /**
   * BullMQ job lock (PROVWATCH_JOB_LOCK_DURATION, seconds) and stalled-job check
   * (PROVWATCH_JOB_STALLED_INTERVAL): a job whose worker died is taken up again by another one
   * once its lock has expired and the next check runs.
   */
  jobLockDurationSeconds: number;
  jobStalledIntervalSeconds: number;
  /** Cap of the back-off with which the worker retries its start while Redis or Postgres are down (PROVWATCH_START_RETRY_MAX, seconds). */
  startRetryMaxSeconds: number;
}

const ROLES: Role[] = ['api', 'worker'];

/**
 * Reads the service's environment. A bad value stops the start with every problem listed; secrets
 * are checked for presence and shape but never echoed.
 */
export function loadServiceConfig(env: NodeJS.ProcessEnv): ServiceConfig {
  const problems: ConfigProblem[] = [];
  const bad = (field: string, message: string) => problems.push({ source: 'environment', field, message });

  const url = (name: string, fallback: string | undefined, protocols: string[]): string => {
    const value = env[name] ?? fallback;
    if (value === undefined || value === '') {
      bad(name, 'is required');
      return '';
    }
    try {
      const parsed = new URL(value);
      if (!protocols.includes(parsed.protocol)) bad(name, `must use ${protocols.join(' or ')}`);
    } catch {
      bad(name, 'is not a URL');
    }
    return value;
  };
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      bad(name, `must be an integer from ${min} to ${max}`);
      return fallback;
    }
    return value;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    if (/^(true|1|yes)$/i.test(raw)) return true;
    if (/^(false|0|no)$/i.test(raw)) return false;
    bad(name, 'must be true or false');
    return fallback;
  };
  const list = (name: string): string[] => (env[name] ?? '').split(',').map((s) => s.trim()).filter(Boolean);

  const roles = list('PROVWATCH_ROLES');
  const unknownRoles = roles.filter((r) => !ROLES.includes(r as Role));
  if (unknownRoles.length > 0) bad('PROVWATCH_ROLES', `unknown roles ${unknownRoles.join(', ')} (allowed: api, worker)`);
  // The logger reads these leniently before this runs (it must exist to report problems); here a typo is refused.
  const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];
  const LOG_FORMATS = ['auto', 'json', 'pretty'];
  if (env.LOG_LEVEL && !LOG_LEVELS.includes(env.LOG_LEVEL)) bad('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);
  if (env.LOG_FORMAT && !LOG_FORMATS.includes(env.LOG_FORMAT)) bad('LOG_FORMAT', `must be one of ${LOG_FORMATS.join(', ')}`);
  const alertmanagerUrls = list('ALERTMANAGER_URLS');
  alertmanagerUrls.forEach((u, i) => {
    try {
      if (!['http:', 'https:'].includes(new URL(u).protocol)) bad(`ALERTMANAGER_URLS[${i}]`, 'must be http or https');
    } catch {
      bad(`ALERTMANAGER_URLS[${i}]`, 'is not a URL');
    }
  });
  const insecureRegistries = list('PROVWATCH_INSECURE_REGISTRIES');
  insecureRegistries.forEach((h) => {
    if (!/^[a-z0-9.-]+(:\d+)?$/i.test(h)) bad('PROVWATCH_INSECURE_REGISTRIES', `${JSON.stringify(h)} is not host[:port]`);
  });
  const apiToken = env.PROVWATCH_API_TOKEN || undefined;
  if (apiToken !== undefined && apiToken.length < 16) bad('PROVWATCH_API_TOKEN', 'must be at least 16 characters');

  const config: ServiceConfig = {
    watchlistPath: env.PROVWATCH_CONFIG || 'provwatch.yaml',
    databaseUrl: url('DATABASE_URL', undefined, ['postgres:', 'postgresql:']),
    redisUrl: url('REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']),
    port: int('PORT', 8080, 0, 65535),
    roles: roles.length > 0 ? (roles as Role[]) : [...ROLES],
    githubApiUrl: url('GITHUB_API_URL', 'https://api.github.com', ['http:', 'https:']).replace(/\/+$/, ''),
    githubToken: env.GITHUB_TOKEN || undefined,
    trustedRootFile: env.PROVWATCH_TRUSTED_ROOT || undefined,
    tufMirrorUrl: env.PROVWATCH_TUF_MIRROR_URL || undefined,
    rekorUrl: url('REKOR_URL', 'https://rekor.sigstore.dev', ['http:', 'https:']),
    alertmanagerUrls,
    apiToken,
    apiReadAuth: bool('PROVWATCH_API_READ_AUTH', false),
    githubWebhookSecret: env.GITHUB_WEBHOOK_SECRET || undefined,
    insecureRegistries,
    registryAuthFile: env.PROVWATCH_REGISTRY_AUTH_FILE || (env.DOCKER_CONFIG ? `${env.DOCKER_CONFIG.replace(/\/+$/, '')}/config.json` : undefined),
    verifyConcurrency: int('PROVWATCH_VERIFY_CONCURRENCY', 2, 1, 64),
    verifyDeadlineSeconds: int('PROVWATCH_VERIFY_DEADLINE', 600, 1, 86_400),
    downloadDeadlineSeconds: int('PROVWATCH_DOWNLOAD_DEADLINE', 300, 1, 86_400),
    evidenceBudgetMiB: int('PROVWATCH_EVIDENCE_BUDGET', 64, 1, 4096),
    queuePrefix: env.PROVWATCH_QUEUE_PREFIX || 'provwatch',
    alertResendIntervalSeconds: int('PROVWATCH_ALERT_RESEND_INTERVAL', 60, 1, 3600),
    trustRootRefreshSeconds: int('PROVWATCH_TRUST_ROOT_REFRESH', 6 * 3600, 60, 7 * 86_400),
    jobLockDurationSeconds: int('PROVWATCH_JOB_LOCK_DURATION', 60, 2, 3600),
    jobStalledIntervalSeconds: int('PROVWATCH_JOB_STALLED_INTERVAL', 30, 1, 3600),
    startRetryMaxSeconds: int('PROVWATCH_START_RETRY_MAX', 30, 1, 600),
    publicUrl: env.PROVWATCH_PUBLIC_URL ? url('PROVWATCH_PUBLIC_URL', undefined, ['http:', 'https:']).replace(/\/+$/, '') : undefined,
  };
  if (config.apiReadAuth && !config.apiToken) bad('PROVWATCH_API_READ_AUTH', 'needs PROVWATCH_API_TOKEN: there is no token to check');
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(config.queuePrefix)) bad('PROVWATCH_QUEUE_PREFIX', 'must be 1-64 letters, digits, - or _');
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
