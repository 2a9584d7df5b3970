// A real CNCF distribution 2.8 registry (Debian `docker-registry`) for tests, and push helpers that
// speak the registry HTTP API directly. Distribution 2.8 has no OCI 1.1 referrers API (it answers
// 404), so tests against it exercise the `sha256-<hex>` fallback tag schema.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REGISTRY_BINARY = '/usr/bin/docker-registry';

export interface TestRegistry {
  /** `127.0.0.1:PORT`, to be listed in the client's insecureHosts. */
  readonly host: string;
  stop(): Promise<void>;
}

export interface PushedManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly size: number;
  /** Tags it was put under (none for manifests reachable only through an index). */
  readonly tags: readonly string[];
}

/** Installs the registry on a fresh machine (CI as root); elsewhere says how to. */
export function ensureRegistryBinary(): string {
  if (existsSync(REGISTRY_BINARY)) return REGISTRY_BINARY;
  if (process.getuid?.() !== 0) {
    throw new Error(`${REGISTRY_BINARY} is missing: install the Debian package docker-registry`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let install = spawnSync('apt-get', ['install', '-y', 'docker-registry'], { stdio: 'ignore', env });
  if (install.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'ignore', env });
    install = spawnSync('apt-get', ['install', '-y', 'docker-registry'], { stdio: 'ignore', env });
  }
  if (install.status !== 0 || !existsSync(REGISTRY_BINARY)) throw new Error('apt-get install docker-registry failed');
  return REGISTRY_BINARY;
}

export async function startRegistry(): Promise<TestRegistry> {
  const binary = ensureRegistryBinary();
  // A free port can be taken between probing and binding: try a few.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(binary, await freePort());
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

async function startOnce(binary: string, port: number): Promise<TestRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'provwatch-registry-'));
  const host = `127.0.0.1:${port}`;
  const config = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${host}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
    '',
  ].join('\n');
  writeFileSync(join(dir, 'config.yml'), config);
  const child: ChildProcess = spawn(binary, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 4096) stderr += d.toString();
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exit;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (exited) break;
    try {
      const res = await fetch(`http://${host}/v2/`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return { host, stop };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error(`docker-registry did not start on ${host}: ${stderr.trim().slice(0, 500)}`);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export function sha256Digest(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** Monolithic upload: POST for an upload session, then PUT with the digest. Skips existing blobs. */
export async function pushBlob(host: string, repo: string, bytes: Buffer): Promise<{ digest: string; size: number }> {
  const digest = sha256Digest(bytes);
  const head = await fetch(`http://${host}/v2/${repo}/blobs/${digest}`, { method: 'HEAD' });
  if (head.status === 200) return { digest, size: bytes.length };
  const start = await fetch(`http://${host}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  await start.arrayBuffer();
  const location = start.headers.get('location');
  if (start.status !== 202 || location === null) throw new Error(`blob upload to ${repo} not started: HTTP ${start.status}`);
  const url = new URL(location, `http://${host}`);
  url.searchParams.set('digest', digest);
  const put = await fetch(url, {
    method: 'PUT',
    headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) },
    body: bytes,
  });
  const text = await put.text();
  if (put.status !== 201) throw new Error(`blob ${digest} not stored in ${repo}: HTTP ${put.status} ${text.slice(0, 300)}`);
  return { digest, size: bytes.length };
}

/** Puts manifest bytes as they are under `reference` (a tag, or the digest for digest-only storage). */
export async function pushManifest(host: string, repo: string, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
  const res = await fetch(`http://${host}/v2/${repo}/manifests/${reference}`, {
    method: 'PUT',
    headers: { 'content-type': mediaType },
    body: bytes,
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`manifest ${reference} not stored in ${repo}: HTTP ${res.status} ${text.slice(0, 300)}`);
  const digest = sha256Digest(bytes);
  const announced = res.headers.get('docker-content-digest');
  if (announced !== null && announced !== digest) throw new Error(`registry stored ${announced}, expected ${digest}`);
  return digest;
}

/** Serialises a JSON manifest, pushes it by digest (and tags) and returns its descriptor. */
export async function pushJsonManifest(
  host: string,
  repo: string,
  manifest: { mediaType: string } & Record<string, unknown>,
  tags: readonly string[] = [],
): Promise<PushedManifest> {
  const bytes = Buffer.from(JSON.stringify(manifest));
  const digest = await pushManifest(host, repo, sha256Digest(bytes), bytes, manifest.mediaType);
  for (const tag of tags) await pushManifest(host, repo, tag, bytes, manifest.mediaType);
  return { digest, mediaType: manifest.mediaType, size: bytes.length, tags };
}

const REF_NAME = 'org.opencontainers.image.ref.name';
const MANIFEST_TYPES = new Set([
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
]);
const INDEX_TYPES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);
// `cosign save` marks its layout entries with a `kind` annotation instead of ref names.
const COSIGN_KIND_SUFFIX: Record<string, string> = {
  'dev.cosignproject.cosign/sigs': 'sig',
  'dev.cosignproject.cosign/atts': 'att',
  'dev.cosignproject.cosign/sboms': 'sbom',
};

interface LayoutDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

/**
 * Pushes an OCI image layout as it is (bytes unchanged, so digests stay those of the layout):
 * blobs first, then manifests bottom-up, since the registry checks that what a manifest references
 * exists. Each top-level manifest goes by digest and under a tag: its `ref.name` annotation if
 * present; for `cosign save` layouts, `sha256-<hex>.sig|.att|.sbom` of the image for cosign's
 * entries; otherwise `tag`.
 */
export async function pushOciLayout(host: string, repo: string, layoutDir: string, tag: string): Promise<PushedManifest[]> {
  const index = JSON.parse(readFileSync(join(layoutDir, 'index.json'), 'utf8')) as { manifests: LayoutDescriptor[] };
  const readBlob = (digest: string) => {
    const [algorithm, hex] = digest.split(':');
    if (!/^[a-z0-9]+$/.test(algorithm) || !/^[a-f0-9]+$/.test(hex)) throw new Error(`odd digest in layout: ${digest}`);
    return readFileSync(join(layoutDir, 'blobs', algorithm, hex));
  };
  const pushed = new Set<string>();

  const pushTree = async (descriptor: LayoutDescriptor): Promise<void> => {
    if (pushed.has(descriptor.digest)) return;
    const bytes = readBlob(descriptor.digest);
    if (MANIFEST_TYPES.has(descriptor.mediaType)) {
      const manifest = JSON.parse(bytes.toString('utf8')) as { config: LayoutDescriptor; layers: LayoutDescriptor[] };
      for (const blob of [manifest.config, ...manifest.layers]) await pushBlob(host, repo, readBlob(blob.digest));
    } else if (INDEX_TYPES.has(descriptor.mediaType)) {
      const child = JSON.parse(bytes.toString('utf8')) as { manifests: LayoutDescriptor[] };
      for (const m of child.manifests) await pushTree(m);
    } else {
      throw new Error(`layout entry ${descriptor.digest} is not a manifest (${descriptor.mediaType})`);
    }
    await pushManifest(host, repo, descriptor.digest, bytes, descriptor.mediaType);
    pushed.add(descriptor.digest);
  };

  const imageEntry = index.manifests.find((m) => !COSIGN_KIND_SUFFIX[m.annotations?.kind ?? '']);
  const results: PushedManifest[] = [];
  for (const descriptor of index.manifests) {
    await pushTree(descriptor);
    const bytes = readBlob(descriptor.digest);
    const suffix = COSIGN_KIND_SUFFIX[descriptor.annotations?.kind ?? ''];
    let name = descriptor.annotations?.[REF_NAME];
    if (name === undefined && suffix !== undefined && imageEntry !== undefined) {
      name = `${imageEntry.digest.replace(':', '-')}.${suffix}`;
    }
    name ??= tag;
    await pushManifest(host, repo, name, bytes, descriptor.mediaType);
    results.push({ digest: descriptor.digest, mediaType: descriptor.mediaType, size: bytes.length, tags: [name] });
  }
  return results;
}
