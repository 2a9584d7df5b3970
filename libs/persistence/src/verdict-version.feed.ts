import type { MetricsRepository } from './metrics.repository';

/** What one read of the feed says. */
export interface VerdictVersionRead {
  /** Every watched target known to the database, with its verdict version. */
  versions: ReadonlyMap<string, string>;
  /**
   * Targets whose version moved (or that appeared) since the previous read; `all` when the
   * previous read is no basis (the first read, or the watched targets were replaced).
   */
  changed: ReadonlySet<string> | 'all';
}

/**
 * The watched targets' verdict versions, kept up to date by asking Postgres only for what changed
 * since the last read (`verdict_xid` at or past that read's snapshot xmin): at 10,000 targets a
 * refresh parses the few targets that moved, not 10,000 lines. The first read, and the first
 * after the watched names change (a watchlist reload), reads them all.
 *
 * One feed per consumer: "changed since the previous read" is the consumer's previous read. A
 * failed read changes nothing, so the next one asks again from the same point and loses no
 * change. Reads are serialised: two at once would race on the horizon.
 */
export class VerdictVersionFeed {
  private horizon: string | undefined;
  private readNames: readonly string[] | undefined;
  /**
   * The watched names as a Set, made by the first change read after a full one: in the full
   * read's turn, after decoding 10,000 versions, it lengthened the first build's longest turn.
   */
  private watched: ReadonlySet<string> | undefined;
  private versions = new Map<string, string>();
  private pending: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly repository: Pick<MetricsRepository, 'verdictVersions'>,
    /** The watched target names; a new array (identity) means the watchlist changed. */
    private readonly names: () => readonly string[],
  ) {}

  read(): Promise<VerdictVersionRead> {
    const next = this.pending.then(() => this.readNow());
    this.pending = next.catch(() => undefined);
    return next;
  }

  private async readNow(): Promise<VerdictVersionRead> {
    const names = this.names();
    if (this.horizon === undefined || names !== this.readNames) {
      const { versions, horizon } = await this.repository.verdictVersions(names);
      this.versions = versions;
      this.watched = undefined;
      this.readNames = names;
      this.horizon = horizon;
      return { versions, changed: 'all' };
    }
    const { versions: moved, horizon } = await this.repository.verdictVersions(names, this.horizon);
    const changed = new Set<string>();
    for (const [target, version] of moved) {
      // Other targets in the database (no longer watched, another replica's watchlist) stay out.
      this.watched ??= new Set(names);
      if (!this.watched.has(target) || this.versions.get(target) === version) continue;
      this.versions.set(target, version);
      changed.add(target);
    }
    this.horizon = horizon;
    return { versions: this.versions, changed };
  }
}
