import { type AlertmanagerClient, type PostableAlert, type VerdictSnapshot, verdictAlert, verdictAlertFor } from '@provwatch/observability';

/** The statuses that raise an alert (see VERDICT_ALERTS). */
const VERDICT_STATUSES = ['fail', 'missing'] as const;

export interface StatusChangeToPublish {
  check: string;
  from: string | null;
  to: string;
}

export interface AlertSubject {
  target: string;
  release: string;
  /** The image repository, for image checks. */
  image?: string;
}

export interface AlertPublisherDeps {
  client: AlertmanagerClient;
  /** The current statuses (the same snapshot /metrics is built from). */
  snapshot: () => Promise<Pick<VerdictSnapshot, 'checks'>>;
  /** How often active alerts are sent again; they expire in Alertmanager after 5 intervals. */
  resendIntervalMs: number;
  /**
   * Taken before each re-send, so that of several replicas one re-sends per interval (see
   * ResendTurn); without it, every resend goes out.
   */
  turn?: { take(turnMs: number): Promise<boolean>; close(): Promise<void> };
  /** Link from the alert to the release's evidence in the status API. */
  publicUrl?: string;
  now?: () => Date;
  log?: (message: string) => void;
}

/**
 * Pushes verdict alerts straight to Alertmanager, as Prometheus would from the rules, so a
 * failure pages within seconds of the verdict instead of after a scrape and an evaluation.
 *
 * - A check turning `fail` or `missing` fires at once; turning `pass` (or to another alert)
 *   resolves the old alert at once with `endsAt` = now.
 * - Active alerts are re-sent on an interval with `endsAt` a few intervals ahead, as Prometheus
 *   does: if provwatch stops (or the release leaves the `keep_last` window), Alertmanager
 *   resolves them by itself instead of keeping a stale page forever.
 * - A check turning `error` (it could not be checked) changes nothing: an alert raised by its last
 *   verdict stays active and is re-sent, as the rules keep it through `last_verdict`. An outage,
 *   or an attacker making the evidence unreachable, must not silence a failure.
 */
export class AlertPublisher {
  private timer: NodeJS.Timeout | undefined;
  private resending: Promise<void> | undefined;

  constructor(private readonly deps: AlertPublisherDeps) {}

  start(): void {
    if (!this.deps.client.configured || this.timer) return;
    this.timer = setInterval(() => void this.resendActive(), this.deps.resendIntervalMs);
    this.timer.unref();
    void this.resendActive();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.resending;
    await this.deps.turn?.close();
  }

  /** Alerts for the status changes of one run; failures to push are logged, never thrown. */
  async publishChanges(subject: AlertSubject, changes: readonly StatusChangeToPublish[]): Promise<void> {
    if (!this.deps.client.configured) return;
    const now = this.now();
    const alerts: PostableAlert[] = [];
    for (const change of changes) {
      if (change.to === 'error') continue;
      const checkSubject = { ...subject, check: change.check };
      const after = verdictAlertFor(change.check, change.to);
      // Leaving `error`, the alert still active is the one of the verdict before the outage,
      // which the change does not name: resolve whichever of the check's alerts is not current.
      const before =
        change.from === 'error'
          ? VERDICT_STATUSES.map((status) => verdictAlertFor(change.check, status))
          : [change.from ? verdictAlertFor(change.check, change.from) : undefined];
      for (const definition of before) {
        if (definition && definition !== after) alerts.push(verdictAlert(definition, checkSubject, { startsAt: now, endsAt: now }, this.link(subject)));
      }
      if (after) alerts.push(verdictAlert(after, checkSubject, { startsAt: now, endsAt: this.expiry(now) }, this.link(subject)));
    }
    await this.send(alerts);
  }

  /**
   * Re-sends every alert that is active now, read from Postgres (so a restarted worker resumes),
   * when it is this replica's turn.
   */
  resendActive(): Promise<void> {
    this.resending ??= (async () => {
      try {
        // A little less than the interval: the next timer of whichever replica finds it free.
        if (this.deps.turn && !(await this.deps.turn.take(this.deps.resendIntervalMs * 0.9))) return;
        const { checks } = await this.deps.snapshot();
        const now = this.now();
        const alerts: PostableAlert[] = [];
        for (const c of checks) {
          const definition = verdictAlertFor(c.check, c.status === 'error' ? (c.lastVerdict ?? 'error') : c.status);
          if (!definition) continue;
          const subject = { target: c.target, release: c.release, image: c.image ?? undefined };
          alerts.push(verdictAlert(definition, { ...subject, check: c.check }, { startsAt: c.since, endsAt: this.expiry(now) }, this.link(subject)));
        }
        await this.send(alerts);
      } catch (err) {
        this.deps.log?.(`alert resend: ${(err as Error).message}`);
      } finally {
        this.resending = undefined;
      }
    })();
    return this.resending;
  }

  private async send(alerts: PostableAlert[]): Promise<void> {
    if (alerts.length === 0) return;
    for (const outcome of await this.deps.client.push(alerts)) {
      if (!outcome.ok) this.deps.log?.(`alertmanager ${outcome.alertmanager}: push of ${alerts.length} alert(s) failed: ${outcome.detail}`);
    }
  }

  private expiry(now: Date): Date {
    return new Date(now.getTime() + 5 * this.deps.resendIntervalMs);
  }

  private link(subject: AlertSubject): string | undefined {
    if (!this.deps.publicUrl) return undefined;
    return `${this.deps.publicUrl}/api/v1/targets/${encodeURIComponent(subject.target)}/releases/${encodeURIComponent(subject.release)}`;
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }
}
