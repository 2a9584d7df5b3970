import { VerificationError } from '../verdict';

export const CYCLONEDX_PREDICATE_TYPE = 'https://cyclonedx.org/bom';
const SPEC_VERSIONS = ['1.2', '1.3', '1.4', '1.5', '1.6'] as const;
export type CycloneDxSpecVersion = (typeof SPEC_VERSIONS)[number];

/** Components walked at most; an SBOM from the network may claim millions. */
export const MAX_WALKED_COMPONENTS = 100_000;
const MAX_STRING = 2_048;
const MAX_PROBLEMS = 20;

export interface CycloneDxSummary {
  format: 'CycloneDX';
  specVersion: CycloneDxSpecVersion;
  /** Top-level and nested components, counted up to MAX_WALKED_COMPONENTS. */
  componentCount: number;
  /** true when the count stopped at the cap. */
  componentCountCapped?: boolean;
  serialNumber?: string;
  mainComponent?: { name: string; version?: string; purl?: string };
}

export interface CycloneDxExpectation {
  /** The project the SBOM must describe (metadata.component.name; its purl is accepted too). */
  componentName?: string | RegExp;
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const shortString = (v: unknown): string | undefined => (typeof v === 'string' && v.length <= MAX_STRING ? v : undefined);

/**
 * Checks that an attestation predicate (or a `*.sbom.json` release asset) is a CycloneDX JSON BOM
 * and summarises it. Accepts the BOM itself, the in-toto statement that carries it (cosign
 * `attest --type cyclonedx`), and cosign's older generic wrapper `{Data, Timestamp}` whose Data is
 * the BOM or its JSON text. Every problem is reported at once in one `sbom-invalid` error.
 */
export function summariseCycloneDx(predicate: unknown, expect: CycloneDxExpectation = {}): CycloneDxSummary {
  const bom = unwrap(predicate);
  const problems: string[] = [];
  if (!isObject(bom)) throw new VerificationError('sbom-invalid', 'SBOM is not a JSON object');

  if (bom.bomFormat !== 'CycloneDX') problems.push(`bomFormat must be "CycloneDX", got ${describe(bom.bomFormat)}`);
  const specVersion = (SPEC_VERSIONS as readonly unknown[]).includes(bom.specVersion) ? (bom.specVersion as CycloneDxSpecVersion) : undefined;
  if (!specVersion) problems.push(`specVersion must be one of ${SPEC_VERSIONS.join(', ')}, got ${describe(bom.specVersion)}`);

  let componentCount = 0;
  let capped = false;
  if (!Array.isArray(bom.components)) problems.push('components must be an array');
  else if (bom.components.length === 0) problems.push('components is empty');
  else ({ count: componentCount, capped } = countComponents(bom.components, problems));

  let mainComponent: CycloneDxSummary['mainComponent'];
  const metadata = bom.metadata;
  const main = isObject(metadata) ? metadata.component : undefined;
  if (!isObject(metadata)) problems.push('metadata is missing');
  else if (!isObject(main)) problems.push('metadata.component is missing');
  else {
    const name = shortString(main.name);
    if (!name) problems.push('metadata.component.name is missing');
    else {
      mainComponent = { name };
      const version = shortString(main.version);
      const purl = shortString(main.purl);
      if (version) mainComponent.version = version;
      if (purl) mainComponent.purl = purl;
      if (expect.componentName !== undefined && !namesProject(mainComponent, expect.componentName)) {
        problems.push(`metadata.component names ${JSON.stringify(name)}${purl ? ` (${purl})` : ''}, expected ${String(expect.componentName)}`);
      }
    }
  }

  let serialNumber: string | undefined;
  if (bom.serialNumber !== undefined) {
    serialNumber = shortString(bom.serialNumber);
    if (!serialNumber || !/^urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/.test(serialNumber)) {
      problems.push(`serialNumber must be a urn:uuid, got ${describe(bom.serialNumber)}`);
      serialNumber = undefined;
    }
  }

  if (problems.length > 0) {
    const shown = problems.slice(0, MAX_PROBLEMS);
    const more = problems.length > shown.length ? `; and ${problems.length - shown.length} more` : '';
    throw new VerificationError('sbom-invalid', `not a valid CycloneDX SBOM: ${shown.join('; ')}${more}`);
  }
  const summary: CycloneDxSummary = { format: 'CycloneDX', specVersion: specVersion!, componentCount };
  if (capped) summary.componentCountCapped = true;
  if (serialNumber) summary.serialNumber = serialNumber;
  if (mainComponent) summary.mainComponent = mainComponent;
  return summary;
}

function unwrap(input: unknown): unknown {
  let value = input;
  // Statement → predicate; cosign's generic predicate → Data; JSON text → object. Bounded: no loops.
  if (isObject(value) && value.predicateType !== undefined && 'predicate' in value) {
    if (value.predicateType !== CYCLONEDX_PREDICATE_TYPE) {
      throw new VerificationError('sbom-invalid', `predicate type is ${describe(value.predicateType)}, not ${CYCLONEDX_PREDICATE_TYPE}`);
    }
    value = value.predicate;
  }
  if (isObject(value) && 'Data' in value && value.bomFormat === undefined) value = value.Data;
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      throw new VerificationError('sbom-invalid', 'SBOM text is not JSON');
    }
  }
  return value;
}

// Nested components (CycloneDX allows components inside components) are walked with an explicit
// stack, so a hostile document can neither blow the call stack nor make us walk forever.
function countComponents(top: unknown[], problems: string[]): { count: number; capped: boolean } {
  const stack: unknown[][] = [top];
  let count = 0;
  let reported = 0;
  while (stack.length > 0) {
    const list = stack.pop()!;
    for (const c of list) {
      if (count >= MAX_WALKED_COMPONENTS) return { count, capped: true };
      count++;
      if (!isObject(c) || typeof c.name !== 'string' || c.name.length === 0) {
        if (reported++ < 3) problems.push(`component #${count} has no name`);
        continue;
      }
      if (Array.isArray(c.components) && c.components.length > 0) stack.push(c.components);
    }
  }
  return { count, capped: false };
}

function namesProject(main: { name: string; purl?: string }, expected: string | RegExp): boolean {
  if (typeof expected === 'string') return main.name === expected || main.purl === expected;
  // A caller's RegExp may carry /g state; test on a fresh copy.
  const re = new RegExp(expected.source, expected.flags.replace('g', '').replace('y', ''));
  return re.test(main.name) || (main.purl !== undefined && re.test(main.purl));
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v.length > 64 ? `${v.slice(0, 64)}...` : v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return String(v);
  return Array.isArray(v) ? 'an array' : 'an object';
}
