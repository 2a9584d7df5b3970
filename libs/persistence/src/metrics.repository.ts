import { Prisma, type PrismaClient } from './generated/client';
import type { CheckStatus } from './check-status';
import { intList, textList } from './sql-lists';

/** A watched target as the metrics see it: only these are reported, each with its keep_last window. */
export interface WatchedTargetWindow {
  name: string;
  keepLast: number;
}

export interface CheckStatusRow {
  target: string;
  /** The image repository for image checks, null for release checks. */
  image: string | null;
  /** The release tag, or the image tag. */
  release: string;
  check: string;
  status: CheckStatus;
  code: string;
  since: Date;
  updatedAt: Date;
  /**
   * For a check that is `error` now: the last status that was a verdict (pass, fail, missing), or
   * null if it never had one. An outage must not hide a failure: alerts keep firing on it.
   */
  lastVerdict: CheckStatus | null;
}

/**
 * A timestamp as milliseconds since the epoch (float8; microseconds dropped as a JS Date drops
 * them), for the reads that return thousands of rows: the driver's timestamptz text, normalised by
 * a regular expression and parsed into a Date, was about a third of what building /metrics at
 * 10,000 targets allocated (~900 MB of garbage in 4 s, scavenges every ~100 ms).
 */
function epochMs(column: string): Prisma.Sql {
  return Prisma.sql`floor(extract(epoch from ${Prisma.raw(column)}) * 1000)::float8`;
}

const dateOrNull = (ms: number | null) => (ms === null ? null : new Date(ms));

/**
 * A turn of the event loop for timers and sockets. Two setImmediate hops: after a database answer
 * the code runs in the poll phase, and one hop from there resumes in the same loop iteration,
 * before any timer or socket (libs/observability's yieldToEventLoop, which this library does not
 * depend on, says the same).
 */
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(() => setImmediate(resolve)));

/** A check status row as jsonRows returns it: target, image, release, check, status, code, since, updatedAt, lastVerdict. */
type CheckTuple = [string, string | null, string, string, CheckStatus, string, number, number, CheckStatus | null];
/** A release timing row as jsonRows returns it: target, release, publishedAt, firstVerdictAt. */
type TimingTuple = [string, string, number | null, number | null];

export interface ReleaseTimingRow {
  target: string;
  release: string;
  publishedAt: Date | null;
  firstVerdictAt: Date | null;
}

export interface PollRow {
  target: string;
  /** `github-releases`, or `oci-tags:<repository>`. */
  source: string;
  lastPolledAt: Date | null;
  lastSuccessAt: Date | null;
  lastErrorCode: string | null;
}

/** The verdict side: changes only when a run is recorded or a release appears, moves or goes. */
export interface VerdictSnapshot {
  checks: CheckStatusRow[];
  releases: ReleaseTimingRow[];
}

/** The polling side: changes with every poll, small (one row per target and source). */
export interface PollSnapshot {
  polls: PollRow[];
  /** As GitHub reported it on the most recent poll that carried the header. */
  githubRateLimitRemaining: number | null;
  targets: number;
}

const POLL_ROWS_PER_TEXT = 1000;

/**
 * The names of a watched-target list as a Set, made once per list (the feeds pass the same array
 * until the watchlist changes): a change read filters its few rows by it on every scrape.
 */
const watchedSets = new WeakMap<readonly WatchedTargetWindow[], ReadonlySet<string>>();
function watchedSet(targets: readonly WatchedTargetWindow[]): ReadonlySet<string> {
  let set = watchedSets.get(targets);
  if (set === undefined) {
    set = new Set(targets.map((t) => t.name));
    watchedSets.set(targets, set);
  }
  return set;
}

/** How many watched targets the targets table held, and a stamp of that table's rows then. */
export interface KnownTargets {
  stamp: string;
  count: number;
}

/**
 * The reads behind the scrape-time gauges: the current truth in Postgres, limited to the watched
 * targets and each target's newest `keep_last` releases and image tags, so that label sets stay
 * bounded however long the history grows.
 */
export class MetricsRepository {
  constructor(private readonly prisma: PrismaClient) {}

  /**
   * A version per watched target of what `verdicts()` and the status API read for it: equal
   * versions, equal rows. Triggers bump it in the same transaction as every change of a latest
   * status, a release or an image tag, so a reader never sees a change without its new version.
   * Aggregated into one text value: decoding 10,000 rows held the event loop for 23 ms.
   *
   * `since`: only targets whose version moved in a transaction that the snapshot with that xmin
   * could not see yet (`verdict_xid >= since`): an index range scan over what changed, not all
   * targets. Always returns `horizon`, the xmin of the snapshot this read used, to pass as
   * `since` next time; a change committed after this read has an xid at least that large.
   * Without `since`, every target in `names` (a full read).
   */
  async verdictVersions(names: readonly string[], since?: string): Promise<{ versions: Map<string, string>; horizon: string }> {
    // One statement: pg_current_snapshot() is the snapshot the subquery reads with.
    const filter = since === undefined ? Prisma.sql`name = ANY(${textList(names)})` : Prisma.sql`verdict_xid >= ${since}::bigint`;
    const rows = await this.prisma.$queryRaw<Array<{ list: string; horizon: string }>>`
      SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon,
             coalesce((SELECT string_agg(name || ' ' || verdict_version::text, E'\n') FROM targets WHERE ${filter}), '') AS list`;
    const versions = new Map<string, string>();
    // Target names never contain a space or a newline (watchlist schema): the last space separates.
    for (const line of (rows[0]?.list ?? '').split('\n')) {
      const space = line.lastIndexOf(' ');
      if (space > 0) versions.set(line.slice(0, space), line.slice(space + 1));
    }
    return { versions, horizon: rows[0]!.horizon };
  }

  /**
   * The latest status of every check in the window, and release timings. `notPassing` keeps only
   * checks that are fail, missing or error (what alerting needs), and skips the timings.
   * `sequential` sends the three statements one after another instead of at once: the read then
   * keeps at most one Postgres backend busy (background upkeep that must not take the database's
   * cores from the requests being served beside it).
   */
  async verdicts(targets: WatchedTargetWindow[], options: { notPassing?: boolean; sequential?: boolean } = {}): Promise<VerdictSnapshot> {
    const names = targets.map((t) => t.name);
    const windows = targets.map((t) => t.keepLast);
    if (names.length === 0) return { checks: [], releases: [] };
    const statusFilter = options.notPassing ? Prisma.sql`AND l.status NOT IN ('pass', 'not-applicable')` : Prisma.empty;
    // Only undecided checks look back, through the (target_id, subject_key, started_at) index.
    const lastVerdict = Prisma.sql`CASE WHEN l.status = 'error' THEN (
          SELECT c.status FROM verification_runs v JOIN check_results c ON c.run_id = v.id
          WHERE v.target_id = l.target_id AND v.subject_kind = l.subject_kind AND v.subject_key = l.subject_key
            AND c."check" = l."check" AND c.status <> 'error'
          ORDER BY v.started_at DESC, c.id DESC LIMIT 1) END`;
    // The watched targets with their keep_last, and the releases inside that window.
    const watched = Prisma.sql`watched AS (
          SELECT t.id, t.name, w.keep FROM targets t
          JOIN unnest(${textList(names)}, ${intList(windows)}) AS w(name, keep) ON w.name = t.name
        )`;
    const keptReleases = Prisma.sql`WITH ${watched}, kept AS (
          SELECT r.target_id, r.tag, r.published_at, w.name,
                 row_number() OVER (PARTITION BY r.target_id ORDER BY r.published_at DESC NULLS LAST, r.id DESC) AS rank, w.keep
          FROM releases r JOIN watched w ON w.id = r.target_id
          WHERE r.deleted_at IS NULL
        )`;
    // One round trip each; the window functions run on the (target_id, published_at) index.
    // Each answers ONE text: a JSON array of row arrays, parsed once. Decoded row by row (the
    // driver's strings per field, Prisma's objects per row), the first /metrics build at 10,000
    // targets allocated 1.87 GB and its scavenges kept 267 MB alive; as one text, 1.52 GB and 119 MB.
    const releaseCheckRead = () =>
      this.jsonRows<CheckTuple>(Prisma.sql`
        ${keptReleases}
        SELECT json_build_array(k.name, NULL::text, l.subject_key, l."check", l.status, l.code, ${epochMs('l.since')}, ${epochMs('l.updated_at')},
               ${lastVerdict}) AS row
        FROM kept k
        JOIN latest_check_status l ON l.target_id = k.target_id AND l.subject_kind = 'release' AND l.subject_key = k.tag
        WHERE k.rank <= k.keep ${statusFilter}`);
    const imageCheckRead = () =>
      this.jsonRows<CheckTuple>(Prisma.sql`
        WITH ${watched}, kept AS (
          SELECT i.target_id, i.repository, d.tag, w.name,
                 row_number() OVER (PARTITION BY d.image_id ORDER BY d.last_seen_at DESC, d.id DESC) AS rank, w.keep
          FROM image_digests d JOIN images i ON i.id = d.image_id JOIN watched w ON w.id = i.target_id
        )
        SELECT json_build_array(k.name, k.repository, k.tag, l."check", l.status, l.code, ${epochMs('l.since')}, ${epochMs('l.updated_at')},
               ${lastVerdict}) AS row
        FROM kept k
        JOIN latest_check_status l ON l.target_id = k.target_id AND l.subject_kind = 'image' AND l.subject_key = k.repository || ':' || k.tag
        WHERE k.rank <= k.keep ${statusFilter}`);
    const timingRead = () =>
      options.notPassing
        ? Promise.resolve([])
        : this.jsonRows<TimingTuple>(Prisma.sql`
        ${keptReleases}
        SELECT json_build_array(k.name, k.tag, ${epochMs('k.published_at')},
               ${epochMs(`(SELECT min(v.finished_at) FROM verification_runs v
                 WHERE v.target_id = k.target_id AND v.subject_kind = 'release' AND v.subject_key = k.tag)`)}) AS row
        FROM kept k WHERE k.rank <= k.keep`);
    const [releaseChecks, imageChecks, releases] = options.sequential
      ? [await releaseCheckRead(), await imageCheckRead(), await timingRead()]
      : await Promise.all([releaseCheckRead(), imageCheckRead(), timingRead()]);
    const checks: CheckStatusRow[] = [];
    for (const rows of [releaseChecks, imageChecks]) {
      for (const [target, image, release, check, status, code, since, updatedAt, lastVerdict] of rows) {
        checks.push({ target, image, release, check, status, code, since: new Date(since), updatedAt: new Date(updatedAt), lastVerdict });
      }
    }
    return {
      checks,
      releases: releases.map(([target, release, publishedAt, firstVerdictAt]) => ({ target, release, publishedAt: dateOrNull(publishedAt), firstVerdictAt: dateOrNull(firstVerdictAt) })),
    };
  }

  /** The rows of `select` (one json `row` column each) as one JSON text, parsed once. */
  private async jsonRows<Tuple>(select: Prisma.Sql): Promise<Tuple[]> {
    const [answer] = await this.prisma.$queryRaw<Array<{ rows: string }>>`SELECT coalesce(json_agg(q.row), '[]')::text AS rows FROM (${select}) q`;
    return JSON.parse(answer!.rows) as Tuple[];
  }

  /**
   * Poll health per watched target and source, and the newest GitHub rate-limit reading. With
   * `since` (a `horizon` this returned before) only the rows written by transactions that snapshot
   * could not see yet (`changed_xid >= since`, see VerdictVersionFeed): `complete` is then false.
   * `known` (what a previous read returned as `knownTargets`) spares the count of watched targets
   * while the targets table is unchanged. `targets` is read as it is at the call; a caller passes a
   * new array when the watched set changes, never the same one changed in place (the names of a
   * list are kept per list).
   */
  async polls(
    targets: readonly WatchedTargetWindow[],
    since?: string,
    known?: KnownTargets,
  ): Promise<PollSnapshot & { complete: boolean; horizon: string; knownTargets: KnownTargets }> {
    // Nothing watched, nothing to report (not even another replica's rate-limit reading).
    if (targets.length === 0) return { polls: [], githubRateLimitRemaining: null, targets: 0, complete: since === undefined, horizon: since ?? '0', knownTargets: { stamp: '', count: 0 } };
    // Watched names are matched by a join on their list, not `= ANY(list)`: with 10,000 names the
    // planner estimated the selectivity of each element (18-50 ms of planning per statement).
    // Built only for the reads that match names: checking and joining 10,000 names, and sending
    // them, on every change read held the event loop for milliseconds per scrape.
    let watchedJoin: Prisma.Sql | undefined;
    const watched = () => (watchedJoin ??= Prisma.sql`JOIN unnest(${textList(targets.map((t) => t.name))}) AS w(name) ON w.name = t.name`);
    // A change read takes the changed rows (the changed_xid index) of every target and leaves the
    // unwatched ones out below, in JavaScript: matching 10,000 names in Postgres cost ~50 ms per
    // read, with nothing changed.
    const polled =
      since === undefined
        ? Prisma.sql`SELECT p.*, t.name FROM poll_states p JOIN targets t ON t.id = p.target_id ${watched()}`
        : Prisma.sql`SELECT p.*, t.name FROM poll_states p JOIN targets t ON t.id = p.target_id WHERE p.changed_xid >= ${since}::bigint`;
    // The count of watched targets in the database (provwatch_targets) is the other 10,000-name
    // match; it is redone only when the targets table changed (a row count and the largest id:
    // rows are inserted with new ids and deleted, never renamed), by a second statement.
    const watchedCount = () => Prisma.sql`(SELECT count(*)::int FROM targets t ${watched()})`;
    const knownCount = known === undefined ? watchedCount() : Prisma.sql`NULL::int`;
    // What held the event loop at 10,000 targets, and what replaced it: decoding one row per
    // target and source (tens of ms): JSON texts of POLL_ROWS_PER_TEXT rows, one parsed per turn
    // (one JSON.parse of all of them: ~10 ms), each text a row of its own (a text[] column was
    // parsed character by character by the driver: 300 ms); Prisma's `count({ where: { name:
    // { in: names } } })` binding 10,000 parameters, then an array parameter quoted element by
    // element (20-30 ms): one statement, the names in one text parameter (textList). The scalars
    // come with each row, from the same snapshot as the rows.
    const rows = await this.prisma.$queryRaw<Array<{ list: string | null; remaining: number | null; known: number | null; stamp: string; horizon: string }>>`
      WITH table_stamp AS (SELECT count(*)::text || ':' || coalesce(max(id), 0)::text AS stamp FROM targets),
      rows AS (
        SELECT json_build_array(p.name, p.source,
                 ${epochMs('p.last_polled_at')}, ${epochMs('p.last_success_at')}, p.last_error_code) AS poll,
               row_number() OVER (ORDER BY p.name, p.source) AS ord
        FROM (${polled}) p
      ),
      parts AS (SELECT (ord - 1) / ${POLL_ROWS_PER_TEXT}::int AS part, json_agg(poll ORDER BY ord)::text AS list FROM rows GROUP BY 1),
      scalars AS (
        SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon,
          (SELECT p.rate_limit_remaining FROM poll_states p
             WHERE p.source = 'github-releases' AND p.rate_limit_remaining IS NOT NULL AND p.last_polled_at IS NOT NULL
             ORDER BY p.last_polled_at DESC LIMIT 1) AS remaining,
          ${knownCount} AS known,
          (SELECT stamp FROM table_stamp) AS stamp
      )
      SELECT s.horizon, s.remaining, s.known, s.stamp, parts.list FROM scalars s LEFT JOIN parts ON true ORDER BY parts.part`;
    const row = rows[0];
    const polls: PollRow[] = [];
    // Only a change read has rows of unwatched targets (another replica's, removed ones).
    const watchedNames = since === undefined ? undefined : watchedSet(targets);
    for (const [i, { list }] of rows.entries()) {
      if (list === null) continue;
      if (i > 0) await yieldToEventLoop();
      for (const [target, source, lastPolledAt, lastSuccessAt, lastErrorCode] of JSON.parse(list) as Array<[string, string, number | null, number | null, string | null]>) {
        if (!watchedNames || watchedNames.has(target)) polls.push({ target, source, lastPolledAt: dateOrNull(lastPolledAt), lastSuccessAt: dateOrNull(lastSuccessAt), lastErrorCode });
      }
    }
    let count = row?.known ?? 0;
    if (known !== undefined) {
      count = row!.stamp === known.stamp ? known.count : (await this.prisma.$queryRaw<Array<{ known: number }>>`SELECT ${watchedCount()} AS known`)[0]!.known;
    }
    return { polls, githubRateLimitRemaining: row?.remaining ?? null, targets: count, complete: since === undefined, horizon: row!.horizon, knownTargets: { stamp: row!.stamp, count } };
  }
}
