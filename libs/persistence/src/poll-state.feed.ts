import type { KnownTargets, MetricsRepository, PollSnapshot, WatchedTargetWindow } from './metrics.repository';

/**
 * The watched targets' poll states for /metrics, read as changes: the first read (and the first
 * after the watched targets change) has every row (`complete`), later ones only the rows written
 * since the previous read (`changed_xid` at or past that read's snapshot xmin), so a scrape at
 * 10,000 targets parses the polls of the last second, not 10,000 rows. One feed per consumer; a
 * failed read changes nothing (the next one asks from the same point); reads are serialised.
 */
export class PollStateFeed {
  private horizon: string | undefined;
  private known: KnownTargets | undefined;
  private readTargets: readonly WatchedTargetWindow[] | undefined;
  private pending: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly repository: Pick<MetricsRepository, 'polls'>,
    /** The watched targets; a new array (identity) means the watchlist changed. */
    private readonly targets: () => readonly WatchedTargetWindow[],
  ) {}

  read(): Promise<PollSnapshot & { complete: boolean }> {
    const next = this.pending.then(() => this.readNow());
    this.pending = next.catch(() => undefined);
    return next;
  }

  private async readNow(): Promise<PollSnapshot & { complete: boolean }> {
    const targets = this.targets();
    const same = targets === this.readTargets;
    const { horizon, knownTargets, ...snapshot } = await this.repository.polls(targets, same ? this.horizon : undefined, same ? this.known : undefined);
    this.horizon = horizon;
    this.known = knownTargets;
    this.readTargets = targets;
    return snapshot;
  }
}
