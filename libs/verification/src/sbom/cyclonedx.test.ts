import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VerificationError } from '../verdict';
import { MAX_WALKED_COMPONENTS, summariseCycloneDx } from './index';

const PURL = 'pkg:golang/github.com/natrontech/pbs-exporter@v0.9.0?type=module';

function bom(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    bomFormat: 'CycloneDX',
    specVersion: '1.5',
    serialNumber: 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79',
    version: 1,
    metadata: { component: { 'bom-ref': PURL, type: 'application', name: 'github.com/natrontech/pbs-exporter', version: 'v0.9.0', purl: PURL } },
    components: [
      { type: 'library', name: 'github.com/prometheus/client_golang', version: 'v1.19.0' },
      { type: 'library', name: 'golang.org/x/sys', version: 'v0.18.0', components: [{ type: 'library', name: 'nested' }] },
    ],
    ...overrides,
  };
}

function sbomError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof VerificationError);
    assert.equal(err.code, 'sbom-invalid');
    return err.message;
  }
  assert.fail('expected sbom-invalid');
}

describe('summariseCycloneDx', () => {
  it('summarises a BOM, a cosign cyclonedx statement and the old {Data} wrapper alike', () => {
    const expected = {
      format: 'CycloneDX',
      specVersion: '1.5',
      componentCount: 3,
      serialNumber: 'urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79',
      mainComponent: { name: 'github.com/natrontech/pbs-exporter', version: 'v0.9.0', purl: PURL },
    };
    assert.deepEqual(summariseCycloneDx(bom()), expected);
    assert.deepEqual(summariseCycloneDx({ _type: 'https://in-toto.io/Statement/v0.1', predicateType: 'https://cyclonedx.org/bom', subject: [], predicate: bom() }), expected);
    assert.deepEqual(summariseCycloneDx({ Data: bom(), Timestamp: '2024-06-19T11:19:17Z' }), expected);
    assert.deepEqual(summariseCycloneDx({ Data: JSON.stringify(bom()), Timestamp: '2024-06-19T11:19:17Z' }), expected);
  });

  it('accepts every spec version from 1.2 to 1.6 and checks the project name', () => {
    for (const v of ['1.2', '1.3', '1.4', '1.5', '1.6']) assert.equal(summariseCycloneDx(bom({ specVersion: v })).specVersion, v);
    assert.ok(summariseCycloneDx(bom(), { componentName: 'github.com/natrontech/pbs-exporter' }));
    assert.ok(summariseCycloneDx(bom(), { componentName: /^pkg:golang\/github\.com\/natrontech\/pbs-exporter@v[0-9.]+\?type=module$/g }));
    assert.match(sbomError(() => summariseCycloneDx(bom(), { componentName: 'github.com/other/project' })), /expected github\.com\/other\/project/);
  });

  it('lists every problem at once', () => {
    const message = sbomError(() => summariseCycloneDx({ bomFormat: 'SPDX', specVersion: '1.1', components: [], serialNumber: 'nope' }));
    for (const part of [/bomFormat/, /specVersion/, /components is empty/, /metadata is missing/, /serialNumber/]) assert.match(message, part);
  });

  it('rejects what is not a CycloneDX BOM', () => {
    assert.match(sbomError(() => summariseCycloneDx(null)), /not a JSON object/);
    assert.match(sbomError(() => summariseCycloneDx('{not json')), /not JSON/);
    assert.match(sbomError(() => summariseCycloneDx({ predicateType: 'https://slsa.dev/provenance/v0.2', predicate: bom() })), /predicate type/);
    assert.match(sbomError(() => summariseCycloneDx(bom({ components: 'many' }))), /components must be an array/);
    assert.match(sbomError(() => summariseCycloneDx(bom({ metadata: {} }))), /metadata\.component is missing/);
    assert.match(sbomError(() => summariseCycloneDx(bom({ metadata: { component: { type: 'application' } } }))), /metadata\.component\.name/);
    assert.match(sbomError(() => summariseCycloneDx(bom({ components: [{ type: 'library' }] }))), /component #1 has no name/);
  });

  it('survives hostile shapes: deep nesting and huge component lists', () => {
    let deep: Record<string, unknown> = { type: 'library', name: 'leaf' };
    for (let i = 0; i < 50_000; i++) deep = { type: 'library', name: `n${i}`, components: [deep] };
    assert.equal(summariseCycloneDx(bom({ components: [deep] })).componentCount, 50_001);
    const many = Array.from({ length: MAX_WALKED_COMPONENTS + 10 }, (_, i) => ({ type: 'library', name: `c${i}` }));
    const summary = summariseCycloneDx(bom({ components: many }));
    assert.equal(summary.componentCount, MAX_WALKED_COMPONENTS);
    assert.equal(summary.componentCountCapped, true);
  });
});
