/**
 * The alerts a verdict raises. The Prometheus rules in deploy/prometheus/ and the worker's direct
 * push to Alertmanager use these same names, labels and annotation templates (a test holds the
 * two together), so Alertmanager sees one alert whichever path reports it first.
 */
export interface VerdictAlertDefinition {
  alertname: string;
  severity: 'critical' | 'warning';
  /** The status that raises it: only `fail` and `missing` page; `error` is an outage, not a verdict. */
  status: 'fail' | 'missing';
  /** Checks it covers; undefined means every check. */
  checks?: readonly string[];
  /** Prometheus template text; only `{{ $labels.<name> }}` is used, so the push can render it too. */
  summary: string;
  description: string;
}

export const RUNBOOK_BASE_URL = 'https://github.com/provwatch/provwatch/blob/main/docs/runbook.md';

const SUBJECT = '{{ $labels.target }} {{ $labels.release }}';

export const VERDICT_ALERTS: readonly VerdictAlertDefinition[] = [
  {
    alertname: 'ProvwatchReleaseProvenanceFailed',
    severity: 'critical',
    status: 'fail',
    checks: ['artifact-provenance', 'image-provenance'],
    summary: `SLSA provenance of ${SUBJECT} failed verification`,
    description:
      'The {{ $labels.check }} check of {{ $labels.target }} release {{ $labels.release }} failed: the artifacts are not provably built by the trusted builder from the expected source. Treat the release as untrusted until explained.',
  },
  {
    alertname: 'ProvwatchSbomAttestationFailed',
    severity: 'critical',
    status: 'fail',
    checks: ['release-sbom', 'image-sbom'],
    summary: `SBOM attestation of ${SUBJECT} failed verification`,
    description:
      'The {{ $labels.check }} check of {{ $labels.target }} release {{ $labels.release }} failed: the SBOM is not signed by the release workflow, does not cover the artifact, or is rejected by the SBOM policy.',
  },
  {
    alertname: 'ProvwatchSignatureFailed',
    severity: 'critical',
    status: 'fail',
    checks: ['checksums-signature', 'image-signature'],
    summary: `Signature of ${SUBJECT} failed verification`,
    description:
      'The {{ $labels.check }} check of {{ $labels.target }} release {{ $labels.release }} failed: no valid signature by the expected identity covers the artifact.',
  },
  {
    alertname: 'ProvwatchReleaseChanged',
    severity: 'critical',
    status: 'fail',
    checks: ['release-assets', 'release-tag', 'image-tag'],
    summary: `${SUBJECT} changed after it was verified`,
    description:
      'The {{ $labels.check }} check of {{ $labels.target }} release {{ $labels.release }} failed: a release asset was replaced, the release tag moved to another commit, or an image tag now points to another digest.',
  },
  {
    alertname: 'ProvwatchEvidenceMissing',
    severity: 'critical',
    status: 'missing',
    summary: `Supply-chain evidence of ${SUBJECT} is missing`,
    description:
      'The {{ $labels.check }} evidence of {{ $labels.target }} release {{ $labels.release }} is still missing after the grace period (or disappeared): the project promised it with every release.',
  },
];

/** The alert a check in this status raises, if any. */
export function verdictAlertFor(check: string, status: string): VerdictAlertDefinition | undefined {
  return VERDICT_ALERTS.find((a) => a.status === status && (a.checks === undefined || a.checks.includes(check)));
}

/** Alertmanager API v2 `postableAlert`. */
export interface PostableAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt?: string;
  endsAt?: string;
  generatorURL?: string;
}

export interface CheckSubject {
  target: string;
  /** The image repository for image checks. */
  image?: string | null;
  release: string;
  check: string;
}

/** The labels a rule's `max by (target, image, release, check)` yields, plus name and severity. */
export function verdictAlertLabels(definition: VerdictAlertDefinition, subject: CheckSubject): Record<string, string> {
  return {
    alertname: definition.alertname,
    severity: definition.severity,
    target: subject.target,
    ...(subject.image ? { image: subject.image } : {}),
    release: subject.release,
    check: subject.check,
  };
}

/** Renders the `{{ $labels.x }}` placeholders the way Prometheus would (absent label → empty). */
export function renderLabelTemplate(template: string, labels: Record<string, string>): string {
  return template.replace(/\{\{\s*\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g, (_, name: string) => labels[name] ?? '');
}

export function verdictAlert(
  definition: VerdictAlertDefinition,
  subject: CheckSubject,
  times: { startsAt: Date; endsAt: Date },
  generatorURL?: string,
): PostableAlert {
  const labels = verdictAlertLabels(definition, subject);
  return {
    labels,
    annotations: {
      summary: renderLabelTemplate(definition.summary, labels),
      description: renderLabelTemplate(definition.description, labels),
      runbook_url: `${RUNBOOK_BASE_URL}#${definition.alertname.toLowerCase()}`,
    },
    startsAt: times.startsAt.toISOString(),
    endsAt: times.endsAt.toISOString(),
    ...(generatorURL ? { generatorURL } : {}),
  };
}
