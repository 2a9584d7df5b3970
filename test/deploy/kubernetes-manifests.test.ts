/**
 * deploy/kubernetes rendered as kustomize would (resources, folders with their own
 * kustomization.yaml, labels, images) and every reference resolved: names, labels and selectors,
 * ports, probe paths the service serves, env keys the service reads, ConfigMap and Secret keys,
 * the watchlist mount. Each rule is also shown to catch a broken copy.
 */
import { strict as assert } from 'node:assert';
import { existsSync, readFileSync } from 'node:fs';
import { join, posix, resolve } from 'node:path';
import { describe, test } from 'node:test';
import YAML from 'yaml';
import { parseWatchlist } from '@provwatch/config';
import { controllerGetPaths, environmentVariables } from '../support/config-contract';

const ROOT = resolve(__dirname, '../../..');
const K8S = join(ROOT, 'deploy/kubernetes');

type Doc = any;

/** kustomize build, the parts these manifests use. */
function render(dir: string): { docs: Doc[]; images: Array<{ name: string; newTag?: string }> } {
  const k = YAML.parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as { resources: string[]; labels?: Array<{ pairs: Record<string, string> }>; images?: Array<{ name: string; newTag?: string }> };
  const docs: Doc[] = [];
  const images = [...(k.images ?? [])];
  for (const r of k.resources) {
    const path = join(dir, r);
    assert.ok(existsSync(path), `${dir}: resource ${r} does not exist`);
    if (existsSync(join(path, 'kustomization.yaml'))) {
      const sub = render(path);
      docs.push(...sub.docs);
      images.push(...sub.images);
    } else docs.push(...YAML.parseAllDocuments(readFileSync(path, 'utf8')).map((d) => d.toJS()).filter(Boolean));
  }
  for (const pairs of (k.labels ?? []).map((l) => l.pairs)) for (const d of docs) d.metadata.labels = { ...d.metadata.labels, ...pairs };
  return { docs, images };
}

const matches = (selector: Record<string, string>, labels: Record<string, string> = {}) => Object.entries(selector).every(([k, v]) => labels[k] === v);
const matchesSelector = (sel: { matchLabels?: Record<string, string>; matchExpressions?: Array<{ key: string; operator: string; values: string[] }> }, labels: Record<string, string> = {}) =>
  matches(sel.matchLabels ?? {}, labels) && (sel.matchExpressions ?? []).every((e) => (e.operator === 'In' ? e.values.includes(labels[e.key]) : false));

const SERVED_PATHS = [
  ...controllerGetPaths(readFileSync(join(ROOT, 'apps/api/src/health/health.controller.ts'), 'utf8')),
  ...controllerGetPaths(readFileSync(join(ROOT, 'apps/api/src/metrics/metrics.controller.ts'), 'utf8')),
];
const SERVICE_ENV = environmentVariables(readFileSync(join(ROOT, 'libs/config/src/service.config.ts'), 'utf8'));
const SECRET_EXAMPLE = YAML.parse(readFileSync(join(K8S, 'secret.example.yaml'), 'utf8')) as Doc;

/** Every unresolved reference, as `Kind/name: message`. */
function problems(docs: Doc[]): string[] {
  const out: string[] = [];
  const of = (kind: string) => docs.filter((d) => d.kind === kind);
  const seen = new Set<string>();
  for (const d of docs) {
    const id = `${d.kind}/${d.metadata?.name}`;
    if (!d.apiVersion || !d.kind || !d.metadata?.name) out.push(`${id}: apiVersion, kind and metadata.name are required`);
    if (seen.has(id)) out.push(`${id}: defined twice`);
    seen.add(id);
  }
  const configMaps = new Map(of('ConfigMap').map((c) => [c.metadata.name, c.data ?? {}]));
  const secretKeys = (name: string) => (name === SECRET_EXAMPLE.metadata.name ? Object.keys(SECRET_EXAMPLE.stringData ?? {}) : undefined);
  const deployments = of('Deployment');
  for (const dep of deployments) {
    const id = `Deployment/${dep.metadata.name}`;
    const pod = dep.spec.template;
    if (!matchesSelector(dep.spec.selector, pod.metadata.labels)) out.push(`${id}: selector does not match its pod labels`);
    const podSecurity = pod.spec.securityContext ?? {};
    if (podSecurity.runAsNonRoot !== true) out.push(`${id}: runAsNonRoot`);
    const volumes = new Map<string, Doc>((pod.spec.volumes ?? []).map((v: Doc) => [v.name, v]));
    for (const v of volumes.values()) if (v.configMap && !configMaps.has(v.configMap.name)) out.push(`${id}: volume ${v.name}: no ConfigMap ${v.configMap.name}`);
    for (const c of pod.spec.containers) {
      const cid = `${id} container ${c.name}`;
      const sc = c.securityContext ?? {};
      if (sc.readOnlyRootFilesystem !== true) out.push(`${cid}: readOnlyRootFilesystem`);
      if (sc.allowPrivilegeEscalation !== false) out.push(`${cid}: allowPrivilegeEscalation`);
      if (!(sc.capabilities?.drop ?? []).includes('ALL')) out.push(`${cid}: capabilities.drop ALL`);
      const portNames = new Set((c.ports ?? []).map((p: Doc) => p.name));
      const portNumbers = new Set((c.ports ?? []).map((p: Doc) => p.containerPort));
      const env = new Map<string, string | undefined>();
      for (const e of c.env ?? []) {
        env.set(e.name, e.value);
        const cm = e.valueFrom?.configMapKeyRef;
        if (cm && !(configMaps.get(cm.name) ?? {})[cm.key]) out.push(`${cid}: env ${e.name}: ConfigMap ${cm.name} has no key ${cm.key}`);
        const sec = e.valueFrom?.secretKeyRef;
        if (sec) {
          const keys = secretKeys(sec.name);
          if (!keys) out.push(`${cid}: env ${e.name}: Secret ${sec.name} is neither rendered nor documented in secret.example.yaml`);
          else if (!keys.includes(sec.key)) out.push(`${cid}: env ${e.name}: Secret ${sec.name} key ${sec.key} is not documented`);
        }
      }
      for (const from of c.envFrom ?? []) {
        if (from.configMapRef) {
          const data = configMaps.get(from.configMapRef.name);
          if (!data) out.push(`${cid}: envFrom: no ConfigMap ${from.configMapRef.name}`);
          else for (const [k, v] of Object.entries(data)) if (!env.has(k)) env.set(k, String(v));
        }
      }
      for (const name of env.keys()) if (!SERVICE_ENV.includes(name)) out.push(`${cid}: env ${name} is not read by the service (libs/config/src/service.config.ts)`);
      if (env.has('PORT') && !portNumbers.has(Number(env.get('PORT')))) out.push(`${cid}: PORT ${env.get('PORT')} is not a containerPort`);
      const role = env.get('PROVWATCH_ROLES');
      if (!role || role.split(',').some((r) => !['api', 'worker'].includes(r))) out.push(`${cid}: PROVWATCH_ROLES ${role}`);
      for (const kind of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
        const probe = c[kind]?.httpGet;
        if (!probe) continue;
        if (!SERVED_PATHS.includes(probe.path)) out.push(`${cid}: ${kind} path ${probe.path} is not served (${SERVED_PATHS.join(', ')})`);
        if (typeof probe.port === 'string' ? !portNames.has(probe.port) : !portNumbers.has(probe.port)) out.push(`${cid}: ${kind} port ${probe.port} is not a container port`);
      }
      if (c.livenessProbe?.httpGet?.path !== '/healthz') out.push(`${cid}: liveness on /healthz`);
      if (c.readinessProbe?.httpGet?.path !== '/readyz') out.push(`${cid}: readiness on /readyz`);
      // The watchlist: PROVWATCH_CONFIG must be a key of a mounted ConfigMap.
      const configPath = env.get('PROVWATCH_CONFIG') ?? '/etc/provwatch/provwatch.yaml';
      const mount = (c.volumeMounts ?? []).find((m: Doc) => configPath.startsWith(`${m.mountPath}/`));
      const volume = mount && volumes.get(mount.name);
      const key = mount && posix.relative(mount.mountPath, configPath);
      if (!volume?.configMap) out.push(`${cid}: PROVWATCH_CONFIG ${configPath} is not in a mounted ConfigMap`);
      else if (!(configMaps.get(volume.configMap.name) ?? {})[key]) out.push(`${cid}: ConfigMap ${volume.configMap.name} has no key ${key} (PROVWATCH_CONFIG ${configPath})`);
      if (sc.readOnlyRootFilesystem === true && !(c.volumeMounts ?? []).some((m: Doc) => m.mountPath === '/tmp' && volumes.get(m.name)?.emptyDir)) out.push(`${cid}: read-only root without a writable /tmp (HOME, the TUF cache)`);
    }
  }
  const services = of('Service');
  for (const svc of services) {
    const id = `Service/${svc.metadata.name}`;
    const targets = deployments.filter((d) => matches(svc.spec.selector ?? {}, d.spec.template.metadata.labels));
    if (targets.length !== 1) out.push(`${id}: selector matches ${targets.length} Deployments`);
    for (const p of svc.spec.ports ?? [])
      for (const d of targets) {
        const ports = d.spec.template.spec.containers.flatMap((c: Doc) => c.ports ?? []);
        if (!ports.some((cp: Doc) => cp.name === p.targetPort || cp.containerPort === p.targetPort)) out.push(`${id}: targetPort ${p.targetPort} is no container port of ${d.metadata.name}`);
      }
  }
  for (const sm of of('ServiceMonitor')) {
    const id = `ServiceMonitor/${sm.metadata.name}`;
    const selected = services.filter((s) => matchesSelector(sm.spec.selector, s.metadata.labels));
    const components = new Set(selected.map((s) => s.metadata.labels['app.kubernetes.io/component']));
    if (!components.has('api') || !components.has('worker')) out.push(`${id}: must select the api and the worker Services (selects ${[...components].join(',')})`);
    for (const e of sm.spec.endpoints) {
      for (const s of selected) if (!(s.spec.ports ?? []).some((p: Doc) => p.name === e.port)) out.push(`${id}: port ${e.port} is not a port of ${s.metadata.name}`);
      if (!SERVED_PATHS.includes(e.path)) out.push(`${id}: path ${e.path} is not served`);
    }
  }
  return out;
}

describe('Kubernetes manifests (deploy/kubernetes)', () => {
  const { docs, images } = render(K8S);
  const find = (kind: string, name: string) => docs.find((d) => d.kind === kind && d.metadata.name === name);

  test('the render has an api Deployment and Service, a separately scaled worker, the watchlist, a ServiceMonitor and the PrometheusRule', () => {
    for (const [kind, name] of [['Deployment', 'provwatch-api'], ['Service', 'provwatch-api'], ['Deployment', 'provwatch-worker'], ['ConfigMap', 'provwatch-watchlist'], ['ServiceMonitor', 'provwatch'], ['PrometheusRule', 'provwatch']])
      assert.ok(find(kind, name), `${kind}/${name}`);
    assert.ok(!docs.some((d) => d.kind === 'Secret'), 'no Secret in the repository: it is user-provided');
    const roles = (name: string) => find('Deployment', name).spec.template.spec.containers[0].env.find((e: Doc) => e.name === 'PROVWATCH_ROLES').value;
    assert.equal(roles('provwatch-api'), 'api');
    assert.equal(roles('provwatch-worker'), 'worker');
  });

  test('every reference resolves', () => {
    assert.deepEqual(problems(docs), []);
  });

  test('the tokens come from the Secret, not from literals', () => {
    const env = docs.filter((d) => d.kind === 'Deployment').flatMap((d) => d.spec.template.spec.containers.flatMap((c: Doc) => c.env ?? []));
    for (const name of ['DATABASE_URL', 'GITHUB_TOKEN']) assert.ok(env.filter((e: Doc) => e.name === name).length === 2 && env.filter((e: Doc) => e.name === name).every((e: Doc) => e.valueFrom?.secretKeyRef?.name === 'provwatch-secrets'), name);
    for (const name of ['PROVWATCH_API_TOKEN', 'GITHUB_WEBHOOK_SECRET']) assert.ok(env.some((e: Doc) => e.name === name && e.valueFrom?.secretKeyRef?.key === name), name);
    assert.ok(!env.some((e: Doc) => /TOKEN|SECRET|DATABASE_URL/.test(e.name) && e.value !== undefined));
  });

  test('the watchlist in the ConfigMap is valid, and every image is set by the kustomization', () => {
    const data = find('ConfigMap', 'provwatch-watchlist').data['provwatch.yaml'];
    assert.ok(parseWatchlist(data, 'configmap-watchlist.yaml', { baseDir: K8S, readPolicy: () => 'true' }).targets.length > 0);
    for (const d of docs.filter((x) => x.kind === 'Deployment'))
      for (const c of d.spec.template.spec.containers) assert.ok(images.some((i) => i.name === c.image && i.newTag), `${c.image} has a tag in kustomization.yaml`);
  });

  test('each rule catches a broken copy', () => {
    const broken = (mutate: (docs: Doc[]) => void, expected: RegExp) => {
      const copy = structuredClone(docs);
      mutate(copy);
      const found = problems(copy);
      assert.ok(found.some((p) => expected.test(p)), `expected ${expected}: ${JSON.stringify(found)}`);
    };
    const dep = (docs: Doc[], name: string) => docs.find((d) => d.kind === 'Deployment' && d.metadata.name === name);
    const container = (docs: Doc[], name = 'provwatch-api') => dep(docs, name).spec.template.spec.containers[0];
    broken((d) => (dep(d, 'provwatch-api').spec.selector.matchLabels['app.kubernetes.io/component'] = 'apx'), /selector does not match/);
    broken((d) => (d.find((x: Doc) => x.kind === 'Service' && x.metadata.name === 'provwatch-api').spec.selector['app.kubernetes.io/component'] = 'nobody'), /matches 0 Deployments/);
    broken((d) => (d.find((x: Doc) => x.kind === 'Service').spec.ports[0].targetPort = 'metrics'), /targetPort metrics/);
    broken((d) => (container(d).readinessProbe.httpGet.path = '/ready'), /path \/ready is not served/);
    broken((d) => (container(d).livenessProbe.httpGet.port = 9090), /port 9090 is not a container port/);
    broken((d) => container(d).env.push({ name: 'PROVWATCH_WATCHLIST', value: '/x' }), /PROVWATCH_WATCHLIST is not read/);
    broken((d) => (container(d).env.find((e: Doc) => e.name === 'GITHUB_TOKEN').valueFrom.secretKeyRef.key = 'GH_TOKEN'), /key GH_TOKEN is not documented/);
    broken((d) => (container(d).env.find((e: Doc) => e.name === 'GITHUB_TOKEN').valueFrom.secretKeyRef.name = 'other'), /Secret other/);
    broken((d) => (d.find((x: Doc) => x.kind === 'ConfigMap' && x.metadata.name === 'provwatch-env').data.PROVWATCH_CONFIG = '/etc/provwatch/watchlist.yaml'), /has no key watchlist\.yaml/);
    broken((d) => (container(d, 'provwatch-worker').volumeMounts[0].mountPath = '/config'), /not in a mounted ConfigMap/);
    broken((d) => (container(d).securityContext.readOnlyRootFilesystem = false), /readOnlyRootFilesystem/);
    broken((d) => (container(d).securityContext.capabilities.drop = []), /drop ALL/);
    broken((d) => delete dep(d, 'provwatch-worker').spec.template.spec.securityContext.runAsNonRoot, /runAsNonRoot/);
    broken((d) => (d.find((x: Doc) => x.kind === 'ServiceMonitor').spec.endpoints[0].port = 'web'), /port web is not a port/);
    broken((d) => (d.find((x: Doc) => x.kind === 'ServiceMonitor').spec.selector.matchExpressions[0].values = ['api']), /must select the api and the worker/);
    broken((d) => (container(d).env.find((e: Doc) => e.name === 'PORT').value = '9000'), /PORT 9000 is not a containerPort/);
  });
});
