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

/** Label values as the exposition format wants them: backslash, quote and newline escaped. */
export function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : value;
}

const seconds = (date: Date) => date.getTime() / 1000;

export function formatVerdictGauges(snapshot: VerdictSnapshot): string {
  const out: string[] = [];
  const header = (name: string) => out.push(`# HELP ${name} ${HELP[name]}`, `# TYPE ${name} gauge`);

  const subjectLabels = snapshot.checks.map(
    (c) => `target="${escapeLabelValue(c.target)}",image="${escapeLabelValue(c.image ?? '')}",release="${escapeLabelValue(c.release)}",check="${escapeLabelValue(c.check)}"`,
  );
  header(VERDICT_GAUGES.checkStatus);
  // An undecided check says what it was before (last_verdict): rules keep paging on a failure that
  // an outage (or an attacker breaking the registry) made impossible to re-check.
  snapshot.checks.forEach((c, i) =>
    out.push(`${VERDICT_GAUGES.checkStatus}{${subjectLabels[i]},status="${c.status}"${c.status === 'error' ? `,last_verdict="${c.lastVerdict ?? 'none'}"` : ''}} 1`),
  );
  header(VERDICT_GAUGES.checkStatusSince);
  snapshot.checks.forEach((c, i) => {
    if (c.status !== 'pass') out.push(`${VERDICT_GAUGES.checkStatusSince}{${subjectLabels[i]}} ${seconds(c.since)}`);
  });

  // A release is verified when all its checks pass, image checks at the same tag included; only
  // tags that are GitHub releases count (an image tag alone is not a release).
  const releaseKey = (target: string, release: string) => `${target}\u0000${release}`;
  const allPass = new Map<string, boolean>();
  for (const c of snapshot.checks) {
    const key = releaseKey(c.target, c.release);
    allPass.set(key, (allPass.get(key) ?? true) && c.status === 'pass');
  }
  const releaseLabels = snapshot.releases.map((r) => `target="${escapeLabelValue(r.target)}",release="${escapeLabelValue(r.release)}"`);
  header(VERDICT_GAUGES.releaseVerified);
  snapshot.releases.forEach((r, i) => {
    const verified = allPass.get(releaseKey(r.target, r.release));
    if (verified !== undefined) out.push(`${VERDICT_GAUGES.releaseVerified}{${releaseLabels[i]}} ${verified ? 1 : 0}`);
  });
  header(VERDICT_GAUGES.releasePublished);
  snapshot.releases.forEach((r, i) => {
    if (r.publishedAt) out.push(`${VERDICT_GAUGES.releasePublished}{${releaseLabels[i]}} ${seconds(r.publishedAt)}`);
  });
  header(VERDICT_GAUGES.timeToVerdict);
  snapshot.releases.forEach((r, i) => {
    if (r.publishedAt && r.firstVerdictAt) out.push(`${VERDICT_GAUGES.timeToVerdict}{${releaseLabels[i]}} ${Math.max(0, seconds(r.firstVerdictAt) - seconds(r.publishedAt))}`);
  });

  const last = new Map<string, number>();
  for (const c of snapshot.checks) if (c.status !== 'error') last.set(c.target, Math.max(last.get(c.target) ?? 0, seconds(c.updatedAt)));
  header(VERDICT_GAUGES.lastVerification);
  for (const [target, value] of last) out.push(`${VERDICT_GAUGES.lastVerification}{target="${escapeLabelValue(target)}"} ${value}`);
  return `${out.join('\n')}\n`;
}
