/**
 * The container image without Docker (it does not run on the development machines): the
 * Dockerfile is linted for the known mistakes, docker-compose.yml is checked for what operators
 * rely on, and the runtime stage's tree is built the way the Dockerfile builds it (its own COPY
 * lines, `npm ci --omit=dev` from the npm cache into a clean directory, the built output copied as
 * the build stage leaves it), then the service is started from that tree with only what the
 * runtime stage contains and must answer /readyz 200, and the CLI must verify a real vector.
 */
import { strict as assert } from 'node:assert';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import YAML from 'yaml';
import { SERVICE_NODE_FLAGS } from '../../apps/api/src/runtime-flags';
import { copyInstruction, lintDockerfile, parseDockerfile, stages } from '../support/dockerfile';
import { createTestDatabase } from '../support/postgres';
import { TEST_REDIS_URL, ensureRedis } from '../support/redis';

const ROOT = resolve(__dirname, '../../..');
const DOCKERFILE = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const STAGES = stages(parseDockerfile(DOCKERFILE));
const RUNTIME = STAGES[STAGES.length - 1];
const stage = (name: string) => {
  const found = STAGES.find((s) => s.name === name);
  assert.ok(found, `Dockerfile has no stage ${name}`);
  return found;
};

describe('Dockerfile lint (the mistakes hadolint would report)', () => {
  test('the Dockerfile is clean', () => {
    assert.deepEqual(lintDockerfile(DOCKERFILE), []);
  });

  test('each known mistake is reported', () => {
    const good = 'FROM node:24-bookworm-slim\nUSER 1000\nHEALTHCHECK CMD ["true"]\nCMD ["node", "x.js"]\n';
    assert.deepEqual(lintDockerfile(good), []);
    const cases: Array<[string, RegExp]> = [
      ['FROM node:latest\nUSER 1000\nHEALTHCHECK CMD ["true"]\nCMD ["node"]', /latest tag/],
      ['FROM node\nUSER 1000\nHEALTHCHECK CMD ["true"]\nCMD ["node"]', /no tag/],
      ['FROM node:24\nHEALTHCHECK CMD ["true"]\nCMD ["node"]', /no USER/],
      ['FROM node:24\nUSER root\nHEALTHCHECK CMD ["true"]\nCMD ["node"]', /is root/],
      ['FROM node:24\nCMD ["node"]\nUSER 1000\nHEALTHCHECK CMD ["true"]', /USER after CMD/],
      ['FROM node:24\nUSER 1000\nCMD ["node"]', /no HEALTHCHECK/],
      ['FROM node:24\nUSER 1000\nHEALTHCHECK CMD ["true"]\nCMD node x.js', /shell form/],
      ['FROM node:24\nUSER 1000\nHEALTHCHECK CMD ["true"]\nENTRYPOINT node x.js', /shell form/],
      ['FROM node:24\nADD . /app\nUSER 1000\nHEALTHCHECK CMD ["true"]\nCMD ["node"]', /ADD for local files/],
      ['FROM node:24\nRUN npm install\nUSER 1000\nHEALTHCHECK CMD ["true"]\nCMD ["node"]', /use npm ci/],
      ['FROM node:24\nENV GITHUB_TOKEN=ghp_x\nUSER 1000\nHEALTHCHECK CMD ["true"]\nCMD ["node"]', /names a secret/],
      ['FROM node:24\nARG NPM_TOKEN\nUSER 1000\nHEALTHCHECK CMD ["true"]\nCMD ["node"]', /names a secret/],
      ['FROM node:24\nRUN apt-get update && apt-get install -y --no-install-recommends tini\nUSER 1000\nHEALTHCHECK CMD ["true"]\nCMD ["node"]', /apt lists not removed/],
      ['FROM node:24\nRUN apt-get update && \\\n  apt-get install -y tini && rm -rf /var/lib/apt/lists/*\nUSER 1000\nHEALTHCHECK CMD ["true"]\nCMD ["node"]', /no-install-recommends/],
    ];
    for (const [text, expected] of cases) {
      const problems = lintDockerfile(text);
      assert.ok(problems.some((p) => expected.test(p)), `${JSON.stringify(text)}: expected ${expected}, got ${JSON.stringify(problems)}`);
    }
  });

  test('multi-stage: dev dependencies and the build in one stage, production dependencies only in the runtime', () => {
    const build = stage('build');
    assert.ok(build.instructions.some((i) => i.keyword === 'RUN' && /npm ci\b/.test(i.args) && !/--omit=dev/.test(i.args)), 'build stage installs dev dependencies');
    assert.ok(build.instructions.some((i) => i.keyword === 'RUN' && /scripts\/prisma-generate\.mjs/.test(i.args) && /tsc/.test(i.args)));
    assert.ok(stage('production-dependencies').instructions.some((i) => i.keyword === 'RUN' && /npm ci --omit=dev/.test(i.args)));
    assert.ok(!RUNTIME.instructions.some((i) => i.keyword === 'RUN' && /npm/.test(i.args)), 'no npm run in the runtime stage');
    for (const s of STAGES) assert.match(s.from, /^node:24[.-]/, `every stage on Node 24 LTS: ${s.from}`);
    const entrypoint = RUNTIME.instructions.find((i) => i.keyword === 'ENTRYPOINT');
    assert.ok(entrypoint && /tini/.test(entrypoint.args), 'tini is PID 1');
    const labels = RUNTIME.instructions.filter((i) => i.keyword === 'LABEL').map((i) => i.args).join(' ');
    for (const key of ['title', 'description', 'licenses', 'source', 'version', 'revision']) assert.match(labels, new RegExp(`org\\.opencontainers\\.image\\.${key}=`));
    const healthcheck = RUNTIME.instructions.find((i) => i.keyword === 'HEALTHCHECK');
    assert.match(healthcheck!.args, /\/healthz/);
  });

  test('.dockerignore keeps the host build, node_modules and secrets out of the context', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
    for (const entry of ['.git', 'node_modules', 'dist', '.env', 'libs/persistence/src/generated']) assert.ok(ignored.includes(entry), entry);
    // Nothing the Dockerfile copies from the context may be ignored.
    for (const s of STAGES)
      for (const ins of s.instructions.filter((i) => i.keyword === 'COPY')) {
        const copy = copyInstruction(ins);
        if (copy.from) continue;
        for (const src of copy.sources) assert.ok(!ignored.some((e) => e && (src === e || src.startsWith(`${e}/`))), `${src} is copied but ignored`);
      }
  });
});

describe('docker-compose.yml', () => {
  const compose = YAML.parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, Record<string, unknown> & { environment?: Record<string, string>; healthcheck?: { test: string[] } }>;
  };
  const services = compose.services;

  test('api and worker run the built image, separately, with no npm and no source mount', () => {
    for (const name of ['api', 'worker']) {
      const s = services[name];
      assert.equal(s.build, '.', `${name} builds the Dockerfile`);
      assert.equal(s.command, undefined, `${name} runs the image's CMD`);
      for (const v of (s.volumes as string[]) ?? []) assert.ok(!/^\.:|^\.\/?:/.test(v) && v.endsWith(':ro'), `${name}: ${v}`);
      assert.equal(s.read_only, true);
    }
    assert.equal(services.api.environment!.PROVWATCH_ROLES, 'api');
    assert.equal(services.worker.environment!.PROVWATCH_ROLES, 'worker');
    assert.equal(services.worker.environment!.DATABASE_URL, services.api.environment!.DATABASE_URL);
    assert.equal(services.provwatch, undefined);
  });

  test('worker can be scaled: no container name, no host port', () => {
    assert.equal(services.worker.container_name, undefined);
    assert.equal(services.worker.ports, undefined);
  });

  test('healthchecks and restart policies everywhere; Grafana password from the environment', () => {
    for (const [name, s] of Object.entries(services)) {
      assert.ok(s.healthcheck?.test?.length, `${name} has a healthcheck`);
      assert.ok(['unless-stopped', 'always', 'on-failure'].includes(String(s.restart)), `${name} has a restart policy`);
      assert.ok(!String(s.image ?? 'x:1').endsWith(':latest') && /:/.test(String(s.image ?? 'x:1')), `${name}: pinned image tag`);
    }
    assert.match(services.grafana.environment!.GF_SECURITY_ADMIN_PASSWORD, /^\$\{GRAFANA_ADMIN_PASSWORD:\?.+\}$/);
  });

  test("Prometheus scrapes every api and worker replica; Alertmanager's receivers are marked as examples", () => {
    const prometheus = YAML.parse(readFileSync(join(ROOT, 'deploy/prometheus/prometheus.yml'), 'utf8')) as { scrape_configs: Array<{ dns_sd_configs?: Array<{ names: string[] }> }> };
    const names = prometheus.scrape_configs.flatMap((c) => c.dns_sd_configs ?? []).flatMap((c) => c.names);
    assert.deepEqual(names.sort(), ['api', 'worker']);
    const alertmanager = readFileSync(join(ROOT, 'deploy/alertmanager/alertmanager.yml'), 'utf8');
    for (const line of alertmanager.split('\n').filter((l) => /url:/.test(l))) assert.match(line, /example\.internal.*# EXAMPLE/);
  });
});

/** The runtime stage's files, assembled from its COPY lines. `/app` (WORKDIR) is the tree's root. */
function buildRuntimeTree(tree: string, fsRoot: string): void {
  const workdir = RUNTIME.instructions.find((i) => i.keyword === 'WORKDIR')!.args;
  const target = (dest: string, src: string) => {
    const abs = dest.startsWith('/') ? dest : `${workdir}/${dest}`;
    const path = abs === workdir || abs.startsWith(`${workdir}/`) ? join(tree, relative(workdir, abs)) : join(fsRoot, abs);
    return dest.endsWith('/') ? join(path, src.split('/').pop()!) : path;
  };
  const copyFromContext = (src: string, to: string) => {
    mkdirSync(dirname(to), { recursive: true });
    cpSync(join(ROOT, src), to, { recursive: true });
  };
  for (const ins of RUNTIME.instructions.filter((i) => i.keyword === 'COPY')) {
    const copy = copyInstruction(ins);
    if (copy.from === undefined) {
      for (const src of copy.sources) copyFromContext(src, target(copy.destination, src));
    } else if (copy.from === 'production-dependencies') {
      // That stage: its own COPY lines into a clean directory, then `npm ci` exactly as its RUN says.
      const deps = stage('production-dependencies');
      const dir = mkdtempSync(join(tmpdir(), 'provwatch-deps-'));
      for (const c of deps.instructions.filter((i) => i.keyword === 'COPY').map(copyInstruction))
        for (const src of c.sources) copyFromContext(src, join(dir, c.destination.endsWith('/') ? join(c.destination, src.split('/').pop()!) : c.destination));
      const run = deps.instructions.find((i) => i.keyword === 'RUN')!.args.split('&&')[0].trim().split(/\s+/);
      assert.equal(run[0], 'npm');
      const result = spawnSync('npm', [...run.slice(1), '--prefer-offline'], { cwd: dir, encoding: 'utf8', env: { ...process.env, npm_config_update_notifier: 'false' } });
      assert.equal(result.status, 0, result.stderr);
      assert.equal(copy.sources.length, 1);
      cpSync(join(dir, relative(deps.instructions.find((i) => i.keyword === 'WORKDIR')!.args, copy.sources[0])), target(copy.destination, 'node_modules'), { recursive: true, verbatimSymlinks: true });
      rmSync(dir, { recursive: true, force: true });
    } else if (copy.from === 'build') {
      // The build stage's output is this checkout's dist/ (npm test built it with the same tsc
      // project), minus what that stage deletes: dist/test, dist/bench and compiled tests.
      for (const src of copy.sources) {
        const inRepo = join(ROOT, relative('/src', src));
        assert.ok(existsSync(inRepo), `${src}: build first`);
        cpSync(inRepo, target(copy.destination, src), { recursive: true, filter: (f) => !/\.test\.js(\.map)?$/.test(f) });
      }
    } else assert.fail(`unknown stage ${copy.from}`);
  }
}

/** The runtime stage's ENV, with its absolute paths moved under fsRoot. */
function runtimeEnv(fsRoot: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const ins of RUNTIME.instructions.filter((i) => i.keyword === 'ENV'))
    for (const m of ins.args.matchAll(/(\w+)=(\S+)/g)) env[m[1]] = m[2].startsWith('/') ? join(fsRoot, m[2]) : m[2];
  return env;
}

describe('the runtime stage, built without Docker', () => {
  const work = mkdtempSync(join(tmpdir(), 'provwatch-image-'));
  const tree = join(work, 'app');
  const fsRoot = join(work, 'root');
  let service: ChildProcess | undefined;
  let db: { url: string; drop(): Promise<void> } | undefined;

  before(() => {
    buildRuntimeTree(tree, fsRoot);
  });
  after(async () => {
    if (service && service.exitCode === null) service.kill('SIGKILL');
    await db?.drop();
    rmSync(work, { recursive: true, force: true });
  });

  test('only production dependencies are in the tree', () => {
    // The lock file's own verdict: what it marks dev-only must be absent, every dependency present.
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const devOnly = Object.entries(lock.packages).filter(([path, p]) => p.dev && path.startsWith('node_modules/')).map(([path]) => path);
    assert.ok(devOnly.includes('node_modules/autocannon') && devOnly.includes('node_modules/@peculiar/x509'));
    const present = devOnly.filter((path) => existsSync(join(tree, path)));
    assert.deepEqual(present, [], 'dev-only packages in the runtime tree');
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const dep of Object.keys(pkg.dependencies)) assert.ok(existsSync(join(tree, 'node_modules', dep)), dep);
    assert.ok(!existsSync(join(tree, 'apps')) && !existsSync(join(tree, 'dist/test')), 'no sources, no tests');
  });

  test('the service starts from the tree, migrates a fresh database and answers /readyz 200; SIGTERM stops it', async () => {
    assert.equal(process.versions.node.split('.')[0], '24', 'run through scripts/with-node24.sh: the image runs Node 24');
    await ensureRedis();
    db = await createTestDatabase();
    const env: Record<string, string> = {
      ...runtimeEnv(fsRoot),
      PATH: dirname(process.execPath),
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      PROVWATCH_QUEUE_PREFIX: `image_${process.pid}_${Date.now()}`,
      PORT: '0',
      // No network here: the watchlist's GitHub polls fail and are recorded, as README says.
      GITHUB_API_URL: 'http://127.0.0.1:9',
    };
    mkdirSync(env.HOME, { recursive: true });
    const cmd = JSON.parse(RUNTIME.instructions.find((i) => i.keyword === 'CMD')!.args) as string[];
    assert.equal(cmd[0], 'node');
    // The image starts the service as npm start does (apps/api/src/runtime-flags.ts).
    assert.deepEqual(cmd.slice(1, -1), [...SERVICE_NODE_FLAGS]);
    service = spawn(process.execPath, cmd.slice(1), { cwd: tree, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const port = await new Promise<number>((resolvePort, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line in 60 s:\n${output}`)), 60_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const m = /listening on (\d+)/.exec(output);
        if (m) (clearTimeout(timer), resolvePort(Number(m[1])));
      };
      service!.stdout!.on('data', onData);
      service!.stderr!.on('data', onData);
      service!.once('exit', (code) => (clearTimeout(timer), reject(new Error(`exited ${code}:\n${output}`))));
    });
    let ready: Response | undefined;
    for (let i = 0; i < 100; i++) {
      ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (ready.status === 200) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(ready!.status, 200, `${await ready!.text()}\n${output}`);
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    // Nest's shutdown hooks close the queues and the database, then re-raise the signal.
    const exited = new Promise<string>((r) => service!.once('exit', (code, signal) => r(String(signal ?? code))));
    service.kill('SIGTERM');
    assert.ok(['0', 'SIGTERM'].includes(await exited), output);
  });

  test('the CLI in the tree verifies a real vector (README example) and refuses a wrong tag', () => {
    const vectors = join(ROOT, 'test/vectors/slsa-github-generator/generic-v2.1.0');
    const env: Record<string, string> = { ...runtimeEnv(fsRoot), PATH: dirname(process.execPath) };
    mkdirSync(env.HOME, { recursive: true });
    const run = (tag: string) =>
      spawnSync(process.execPath, ['bin/provwatch.js', 'verify-artifact', join(vectors, 'binary-linux-amd64-push-v14'), '--provenance-path', join(vectors, 'binary-linux-amd64-push-v14.intoto.jsonl'), '--source-uri', 'github.com/slsa-framework/example-package', '--source-tag', tag], { cwd: tree, env, encoding: 'utf8' });
    const ok = run('v14');
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /PASSED/);
    const wrong = run('v13');
    assert.equal(wrong.status, 1, wrong.stdout + wrong.stderr);
    assert.match(wrong.stdout + wrong.stderr, /FAILED/);
  });
});
