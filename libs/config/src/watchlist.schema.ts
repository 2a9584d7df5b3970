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

/** `expect:` for one kind of evidence: overrides what the declarations and the history imply. */
export type EvidenceExpectation = 'required' | 'optional' | 'off';

/**
 * Which evidence a target is held to. Unset keys follow the rule: declared evidence is required,
 * undeclared evidence is not-applicable until a release has carried it (then its absence is a
 * regression).
 */
export interface EvidenceExpectations {
  provenance?: EvidenceExpectation;
  checksums?: EvidenceExpectation;
  sbom?: EvidenceExpectation;
  imageSignature?: EvidenceExpectation;
  imageProvenance?: EvidenceExpectation;
  imageSbom?: EvidenceExpectation;
  /** `all`: an executable or archive asset that no provenance subject covers fails the provenance check. */
  coverage: 'listed' | 'all';
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
  /** Declared release evidence: asset names (provenance, checksums) and an SBOM asset pattern (`*.sbom.json`). */
  artifacts: { provenance?: string; checksums?: string; sbom?: string };
  expect: EvidenceExpectations;
  images: ImageTarget[];
  pollIntervalSeconds: number;
  gracePeriodSeconds: number;
  reverifyIntervalSeconds: number;
  /** Warnings to log at start (unanchored regexps and such); they do not stop the start. */
  warnings: string[];
}
