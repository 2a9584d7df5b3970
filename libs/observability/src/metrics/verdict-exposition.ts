import { escapeLabelValue } from './exposition-text';
import type { VerdictSnapshot } from './status-snapshot';

/**
 * The verdict gauges in Prometheus text format, written directly: with 1,000 targets these are
 * ~100,000 series, and prom-client's generic path (label objects, hashing, per-value formatting)
 * took seconds where a string builder takes milliseconds. The text is cached per snapshot version.
 */
export const VERDICT_GAUGES = {
  checkStatus: 'provwatch_check_status',
  checkStatusSince: 'provwatch_check_status_since_timestamp_seconds',
  releaseVerified: 'provwatch_release_verified',
  releasePublished: 'provwatch_release_published_timestamp_seconds',
  timeToVerdict: 'provwatch_release_time_to_verdict_seconds',
  lastVerification: 'provwatch_last_verification_timestamp_seconds',
} as const;

const HELP: Record<string, string> = {
  [VERDICT_GAUGES.checkStatus]:
    'Current status of a check (one series per check, value 1, the status in the status label; undecided checks carry their last verdict in last_verdict). image is empty for release checks.',
  [VERDICT_GAUGES.checkStatusSince]: 'When the current status of a check that is not passing began (Unix seconds).',
  [VERDICT_GAUGES.releaseVerified]: '1 when every recorded check of the release and of its images at the same tag passes, else 0.',
  [VERDICT_GAUGES.releasePublished]: "The release's publication time on GitHub (Unix seconds).",
  [VERDICT_GAUGES.timeToVerdict]: 'Seconds from the release being published to its first recorded verdict.',
  [VERDICT_GAUGES.lastVerification]: 'When a check of the target last got a decided verdict (pass, fail or missing; Unix seconds).',
};

export { escapeLabelValue };

const seconds = (date: Date) => date.getTime() / 1000;

/** One target's lines of each verdict gauge: cached per target, rebuilt only when it changed. */
export type VerdictParts = Record<(typeof VERDICT_GAUGES)[keyof typeof VERDICT_GAUGES], string>;

const METRICS = Object.values(VERDICT_GAUGES);

/** A verdict gauge's HELP and TYPE lines. */
export function verdictGaugeHeader(metric: string): string {
  return `# HELP ${metric} ${HELP[metric]}\n# TYPE ${metric} gauge\n`;
}

/** Splits a snapshot by target and formats each target's series (every line ends with \n). */
export function formatVerdictParts(snapshot: VerdictSnapshot): Map<string, VerdictParts> {
  const parts = new Map<string, VerdictParts>();
  const part = (target: string): VerdictParts => {
    let p = parts.get(target);
    if (!p) {
      p = Object.fromEntries(METRICS.map((m) => [m, ''])) as VerdictParts;
      parts.set(target, p);
    }
    return p;
  };
  // Strings are appended (V8 ropes) and flattened once: no array of 100,000 lines to collect.
  const allPass = new Map<string, boolean>();
  const last = new Map<string, number>();
  for (const c of snapshot.checks) {
    const p = part(c.target);
    const labels = `target="${escapeLabelValue(c.target)}",image="${escapeLabelValue(c.image ?? '')}",release="${escapeLabelValue(c.release)}",check="${escapeLabelValue(c.check)}"`;
    // An undecided check says what it was before (last_verdict): rules keep paging on a failure
    // that an outage (or an attacker breaking the registry) made impossible to re-check.
    p[VERDICT_GAUGES.checkStatus] += `${VERDICT_GAUGES.checkStatus}{${labels},status="${c.status}"${c.status === 'error' ? `,last_verdict="${c.lastVerdict ?? 'none'}"` : ''}} 1\n`;
    if (c.status !== 'pass' && c.status !== 'not-applicable') p[VERDICT_GAUGES.checkStatusSince] += `${VERDICT_GAUGES.checkStatusSince}{${labels}} ${seconds(c.since)}\n`;
    const key = `${c.target}\u0000${c.release}`;
    // A release is verified when every check that applies passes; not-applicable ones count for nothing.
    allPass.set(key, (allPass.get(key) ?? true) && (c.status === 'pass' || c.status === 'not-applicable'));
    if (c.status !== 'error') last.set(c.target, Math.max(last.get(c.target) ?? 0, seconds(c.updatedAt)));
  }
  // A release is verified when all its checks pass, image checks at the same tag included; only
  // tags that are GitHub releases count (an image tag alone is not a release).
  for (const r of snapshot.releases) {
    const p = part(r.target);
    const labels = `target="${escapeLabelValue(r.target)}",release="${escapeLabelValue(r.release)}"`;
    const verified = allPass.get(`${r.target}\u0000${r.release}`);
    if (verified !== undefined) p[VERDICT_GAUGES.releaseVerified] += `${VERDICT_GAUGES.releaseVerified}{${labels}} ${verified ? 1 : 0}\n`;
    if (r.publishedAt) p[VERDICT_GAUGES.releasePublished] += `${VERDICT_GAUGES.releasePublished}{${labels}} ${seconds(r.publishedAt)}\n`;
    if (r.publishedAt && r.firstVerdictAt) {
      p[VERDICT_GAUGES.timeToVerdict] += `${VERDICT_GAUGES.timeToVerdict}{${labels}} ${Math.max(0, seconds(r.firstVerdictAt) - seconds(r.publishedAt))}\n`;
    }
  }
  for (const [target, value] of last) part(target)[VERDICT_GAUGES.lastVerification] += `${VERDICT_GAUGES.lastVerification}{target="${escapeLabelValue(target)}"} ${value}\n`;
  return parts;
}

/**
 * The exposition as chunks: each gauge's HELP and TYPE once, then every target's lines. The
 * chunks are the cached per-target strings themselves, written to the socket one after the
 * other: a 10 MB scrape allocates no 10 MB string.
 */
export function assembleVerdictChunks(parts: Iterable<VerdictParts>): string[] {
  const all = [...parts];
  const out: string[] = [];
  for (const metric of METRICS) {
    out.push(verdictGaugeHeader(metric));
    for (const p of all) if (p[metric] !== '') out.push(p[metric]);
  }
  return out;
}

export function assembleVerdictText(parts: Iterable<VerdictParts>): string {
  return assembleVerdictChunks(parts).join('');
}

export function formatVerdictGauges(snapshot: VerdictSnapshot): string {
  return assembleVerdictText(formatVerdictParts(snapshot).values());
}
