/** The watchlist as the service uses it, after validation and defaults. */
export interface Watchlist {
  defaults: WatchDefaults;
  targets: WatchTarget[];
}

export interface WatchDefaults {
  /** How often releases and tags are polled. */
  pollIntervalSeconds: number;
  /** How long after a release appears its evidence may be absent before it counts as `missing`. */
  gracePeriodSeconds: number;
  /** How often past releases are re-verified (cheap when nothing changed). */
  reverifyIntervalSeconds: number;
}

export interface IdentityConfig {
  issuer: string;
  /** Exactly one of subject / subjectRegexp. */
  subject?: string;
  subjectRegexp?: string;
}

export interface ImageTarget {
  ref: string;
  signaturesRepository?: string;
  sbomRepository?: string;
  provenanceRepository?: string;
  /** Absolute path and source of the CUE policies, read at start (an unreadable file stops the start). */
  provenancePolicy?: { path: string; source: string };
  sbomPolicy?: { path: string; source: string };
}

export interface WatchTarget {
  name: string;
  /** `owner/repo` on GitHub. */
  github: string;
  /** slsa-verifier's --source-uri, `github.com/owner/repo` by default. */
  sourceUri: string;
  builderId?: string;
  releases: { includePrereleases: boolean; keepLast: number };
  identity: IdentityConfig;
  artifacts: { provenance?: string; checksums?: string };
  images: ImageTarget[];
  pollIntervalSeconds: number;
  gracePeriodSeconds: number;
  reverifyIntervalSeconds: number;
  /** Warnings to log at start (unanchored regexps and such); they do not stop the start. */
  warnings: string[];
}
