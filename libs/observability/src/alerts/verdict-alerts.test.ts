import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { VERDICT_ALERTS, renderLabelTemplate, verdictAlert, verdictAlertFor } from '../index';

describe('verdict alerts', () => {
  test('each failing check raises the alert of its kind; missing raises EvidenceMissing; pass and error raise nothing', () => {
    const cases: Array<[string, string, string | undefined]> = [
      ['artifact-provenance', 'fail', 'ProvwatchReleaseProvenanceFailed'],
      ['image-provenance', 'fail', 'ProvwatchReleaseProvenanceFailed'],
      ['release-sbom', 'fail', 'ProvwatchSbomAttestationFailed'],
      ['image-sbom', 'fail', 'ProvwatchSbomAttestationFailed'],
      ['checksums-signature', 'fail', 'ProvwatchSignatureFailed'],
      ['image-signature', 'fail', 'ProvwatchSignatureFailed'],
      ['release-assets', 'fail', 'ProvwatchReleaseChanged'],
      ['image-tag', 'fail', 'ProvwatchReleaseChanged'],
      ['image-sbom', 'missing', 'ProvwatchEvidenceMissing'],
      ['artifact-provenance', 'missing', 'ProvwatchEvidenceMissing'],
      ['artifact-provenance', 'pass', undefined],
      ['artifact-provenance', 'error', undefined],
      ['a-check-nobody-knows', 'fail', undefined],
    ];
    for (const [check, status, expected] of cases) assert.equal(verdictAlertFor(check, status)?.alertname, expected, `${check}=${status}`);
  });

  test('labels are exactly what the rules yield; image only for image checks; annotations rendered', () => {
    const definition = verdictAlertFor('image-sbom', 'fail')!;
    const at = new Date('2026-11-25T10:00:00Z');
    const alert = verdictAlert(definition, { target: 'pbs-exporter', image: 'ghcr.io/natrontech/pbs-exporter', release: 'v0.9.0', check: 'image-sbom' }, { startsAt: at, endsAt: new Date(at.getTime() + 300_000) }, 'http://provwatch:8080/api/v1/targets/pbs-exporter/releases/v0.9.0');
    assert.deepEqual(alert.labels, { alertname: 'ProvwatchSbomAttestationFailed', severity: 'critical', target: 'pbs-exporter', image: 'ghcr.io/natrontech/pbs-exporter', release: 'v0.9.0', check: 'image-sbom' });
    assert.equal(alert.annotations.summary, 'SBOM attestation of pbs-exporter v0.9.0 failed verification');
    assert.match(alert.annotations.description, /^The image-sbom check of pbs-exporter release v0\.9\.0 failed: /);
    assert.equal(alert.annotations.runbook_url, 'https://github.com/provwatch/provwatch/blob/main/docs/runbook.md#provwatchsbomattestationfailed');
    assert.equal(alert.startsAt, '2026-11-25T10:00:00.000Z');
    assert.equal(alert.endsAt, '2026-11-25T10:05:00.000Z');
    const release = verdictAlert(verdictAlertFor('artifact-provenance', 'fail')!, { target: 't', release: 'v1', check: 'artifact-provenance' }, { startsAt: at, endsAt: at });
    assert.equal('image' in release.labels, false);
    assert.doesNotMatch(release.annotations.description, /\{\{/, 'no placeholder left');
    assert.equal(release.generatorURL, undefined);
  });

  test('templates use only $labels placeholders, so the push renders them as Prometheus does', () => {
    for (const a of VERDICT_ALERTS) {
      for (const text of [a.summary, a.description]) {
        const rest = text.replace(/\{\{ \$labels\.[a-z_]+ \}\}/g, '');
        assert.doesNotMatch(rest, /\{\{|\}\}/, `${a.alertname}: ${text}`);
      }
    }
    assert.equal(renderLabelTemplate('{{ $labels.a }}-{{$labels.b}}', { a: 'x' }), 'x-');
  });
});
