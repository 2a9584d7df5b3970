import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import { type ConfigProblem, ConfigError } from './config.error';
import { regexpSafetyProblem } from './regexp-safety';
import type { EvidenceExpectation, EvidenceExpectations, ImageTarget, WatchDefaults, WatchTarget, Watchlist } from './watchlist.schema';

// 10,000 targets take about 3 MiB; the bound keeps a wrong file (a log, a binary) from being parsed.
const MAX_WATCHLIST_BYTES = 16 * 1024 * 1024;
const MAX_POLICY_BYTES = 256 * 1024;
const TARGET_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const GITHUB_REPO = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;
const DEFAULTS: WatchDefaults = { pollIntervalSeconds: 300, gracePeriodSeconds: 3600, reverifyIntervalSeconds: 86_400 };

/** Reads and validates a watchlist file; throws ConfigError listing every problem with its line. */
export function loadWatchlistFile(path: string): Watchlist {
  let text: string;
  try {
    // Checked before reading: a FIFO would block the start forever, a huge file would be read whole.
    const info = statSync(path);
    if (!info.isFile()) throw new Error('not a regular file');
    if (info.size > MAX_WATCHLIST_BYTES) throw new Error(`larger than ${MAX_WATCHLIST_BYTES} bytes`);
    const buf = readFileSync(path);
    if (buf.length > MAX_WATCHLIST_BYTES) throw new Error(`larger than ${MAX_WATCHLIST_BYTES} bytes`);
    text = buf.toString('utf8');
  } catch (err) {
    throw new ConfigError([{ source: path, field: '(file)', message: `cannot read the watchlist: ${(err as Error).message}` }]);
  }
  return parseWatchlist(text, path, { readPolicy: (p) => readPolicyFile(p), baseDir: dirname(resolve(path)) });
}

export interface ParseOptions {
  baseDir: string;
  readPolicy: (absolutePath: string) => string;
}

/**
 * A policy file is checked before it is read: a directory or FIFO (which would block the start
 * forever), a file too large, or one that is not CUE (a YAML or JSON file named by mistake
 * would be compiled against every attestation and fail each at verification time, not at start).
 */
function readPolicyFile(path: string): string {
  if (!path.endsWith('.cue')) throw new Error('is not a .cue file');
  let info;
  try {
    info = statSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable (permission denied)' : (err as Error).message);
  }
  if (!info.isFile()) throw new Error('is not a regular file');
  if (info.size > MAX_POLICY_BYTES) throw new Error(`is larger than ${MAX_POLICY_BYTES} bytes`);
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'EACCES' ? 'is not readable (permission denied)' : (err as Error).message);
  }
  if (buf.length > MAX_POLICY_BYTES) throw new Error(`is larger than ${MAX_POLICY_BYTES} bytes`);
  if (buf.toString('utf8').trim() === '') throw new Error('is empty');
  return buf.toString('utf8');
}

/** Validates watchlist YAML text; `source` names the file in messages. */
export function parseWatchlist(text: string, source: string, options: ParseOptions): Watchlist {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const v = new Validator(source, lineCounter, options);
  for (const err of doc.errors) {
    const pos = err.linePos?.[0];
    v.problems.push({ source, line: pos?.line, column: pos?.col, field: '(yaml)', message: err.message.split('\n')[0] });
  }
  if (v.problems.length > 0) throw new ConfigError(v.problems);
  const watchlist = v.watchlist(doc.contents);
  if (v.problems.length > 0) throw new ConfigError(v.problems);
  return watchlist;
}

class Validator {
  readonly problems: ConfigProblem[] = [];

  constructor(
    private readonly source: string,
    private readonly lines: LineCounter,
    private readonly options: ParseOptions,
  ) {}

  private problem(node: Node | null | undefined, field: string, message: string): void {
    const offset = node?.range?.[0];
    const pos = offset !== undefined ? this.lines.linePos(offset) : undefined;
    this.problems.push({ source: this.source, line: pos?.line, column: pos?.col, field, message });
  }

  /** A mapping's entries by key, reporting keys that are not allowed. */
  private map(node: Node | null | undefined, field: string, allowed: string[]): Map<string, Node | null> | undefined {
    if (!isMap(node)) {
      this.problem(node, field, 'must be a mapping');
      return undefined;
    }
    const entries = new Map<string, Node | null>();
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (key === undefined || !allowed.includes(key)) {
        this.problem(pair.key as Node, field ? `${field}.${key}` : String(key), `unknown key (allowed: ${allowed.join(', ')})`);
        continue;
      }
      entries.set(key, pair.value as Node | null);
    }
    return entries;
  }

  private string(
    node: Node | null | undefined,
    field: string,
    opts: { required?: boolean; pattern?: RegExp; hint?: string; parent?: Node | null } = {},
  ): string | undefined {
    if (node === undefined || node === null || (isScalar(node) && node.value === null)) {
      // A missing key has no position of its own: point at the mapping that lacks it.
      if (opts.required) this.problem(node ?? opts.parent, field, 'is required');
      return undefined;
    }
    if (!isScalar(node) || typeof node.value !== 'string' || node.value === '') {
      this.problem(node, field, 'must be a non-empty string');
      return undefined;
    }
    if (opts.pattern && !opts.pattern.test(node.value)) {
      this.problem(node, field, `must look like ${opts.hint ?? opts.pattern.source}`);
      return undefined;
    }
    return node.value;
  }

  private bool(node: Node | null | undefined, field: string, fallback: boolean): boolean {
    if (node === undefined || node === null) return fallback;
    if (!isScalar(node) || typeof node.value !== 'boolean') {
      this.problem(node, field, 'must be true or false');
      return fallback;
    }
    return node.value;
  }

  private int(node: Node | null | undefined, field: string, fallback: number, min: number, max: number): number {
    if (node === undefined || node === null) return fallback;
    if (!isScalar(node) || typeof node.value !== 'number' || !Number.isInteger(node.value) || node.value < min || node.value > max) {
      this.problem(node, field, `must be an integer from ${min} to ${max}`);
      return fallback;
    }
    return node.value;
  }

  private duration(node: Node | null | undefined, field: string, fallback: number): number {
    if (node === undefined || node === null) return fallback;
    const value = isScalar(node) ? node.value : undefined;
    const seconds = typeof value === 'string' ? parseDuration(value) : undefined;
    if (seconds === undefined || seconds < 10 || seconds > 30 * 86_400) {
      this.problem(node, field, 'must be a duration like 30s, 5m, 1h or 1d, from 10s to 30d');
      return fallback;
    }
    return seconds;
  }

  private regexp(node: Node | null | undefined, field: string): string | undefined {
    const pattern = this.string(node, field);
    if (pattern === undefined) return undefined;
    try {
      new RegExp(pattern);
    } catch (err) {
      this.problem(node, field, `invalid regular expression: ${(err as Error).message}`);
      return undefined;
    }
    // Matched against identities an attacker writes into a certificate: see regexp-safety.ts.
    const unsafe = regexpSafetyProblem(pattern);
    if (unsafe) {
      this.problem(node, field, `rejected, not backtracking-safe: ${unsafe}`);
      return undefined;
    }
    return pattern;
  }

  private policy(node: Node | null | undefined, field: string): { path: string; source: string } | undefined {
    const file = this.string(node, field);
    if (file === undefined) return undefined;
    const path = isAbsolute(file) ? file : resolve(this.options.baseDir, file);
    try {
      return { path, source: this.options.readPolicy(path) };
    } catch (err) {
      this.problem(node, field, `cannot read policy file ${path}: it ${(err as Error).message}`);
      return undefined;
    }
  }

  watchlist(root: Node | null): Watchlist {
    const top = this.map(root, '', ['defaults', 'targets']);
    if (!top) return { defaults: DEFAULTS, targets: [] };
    const defaults = this.defaults(top.get('defaults'));
    const targetsNode = top.get('targets');
    if (!isSeq(targetsNode) || targetsNode.items.length === 0) {
      this.problem(targetsNode ?? root, 'targets', 'must be a non-empty list of targets');
      return { defaults, targets: [] };
    }
    const targets = targetsNode.items.map((item, i) => this.target(item as Node, `targets[${i}]`, defaults)).filter((t): t is WatchTarget => !!t);
    const seen = new Map<string, number>();
    targets.forEach((t, i) => {
      if (seen.has(t.name)) this.problem(targetsNode.items[i] as Node, `targets[${i}].name`, `duplicate target name ${JSON.stringify(t.name)} (first at targets[${seen.get(t.name)}])`);
      else seen.set(t.name, i);
    });
    return { defaults, targets };
  }

  private defaults(node: Node | null | undefined): WatchDefaults {
    if (node === undefined) return DEFAULTS;
    const m = this.map(node, 'defaults', ['poll_interval', 'grace_period', 'reverify_interval']);
    if (!m) return DEFAULTS;
    return {
      pollIntervalSeconds: this.duration(m.get('poll_interval'), 'defaults.poll_interval', DEFAULTS.pollIntervalSeconds),
      gracePeriodSeconds: this.duration(m.get('grace_period'), 'defaults.grace_period', DEFAULTS.gracePeriodSeconds),
      reverifyIntervalSeconds: this.duration(m.get('reverify_interval'), 'defaults.reverify_interval', DEFAULTS.reverifyIntervalSeconds),
    };
  }

  private target(node: Node, field: string, defaults: WatchDefaults): WatchTarget | undefined {
    const m = this.map(node, field, [
      'name', 'github', 'source_uri', 'builder_id', 'releases', 'identity', 'artifacts', 'expect', 'images', 'poll_interval', 'grace_period', 'reverify_interval',
    ]);
    if (!m) return undefined;
    const before = this.problems.length;
    const name = this.string(m.get('name'), `${field}.name`, { required: true, parent: node, pattern: TARGET_NAME, hint: 'a lowercase name (a-z, 0-9, . _ -)' });
    const github = this.string(m.get('github'), `${field}.github`, { required: true, parent: node, pattern: GITHUB_REPO, hint: 'owner/repo' });
    const sourceUri = this.string(m.get('source_uri'), `${field}.source_uri`, { pattern: /^github\.com\/[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, hint: 'github.com/owner/repo' });
    const builderId = this.string(m.get('builder_id'), `${field}.builder_id`, { pattern: /^https:\/\//, hint: 'https://...' });

    const releases = { includePrereleases: false, keepLast: 10 };
    const releasesNode = m.get('releases');
    if (releasesNode !== undefined) {
      const r = this.map(releasesNode, `${field}.releases`, ['include_prereleases', 'keep_last']);
      if (r) {
        releases.includePrereleases = this.bool(r.get('include_prereleases'), `${field}.releases.include_prereleases`, false);
        releases.keepLast = this.int(r.get('keep_last'), `${field}.releases.keep_last`, 10, 1, 100);
      }
    }

    const warnings: string[] = [];
    const identityNode = m.get('identity');
    let identity: WatchTarget['identity'] | undefined;
    if (identityNode === undefined) this.problem(node, `${field}.identity`, 'is required (issuer and subject or subject_regexp)');
    const idMap = identityNode === undefined ? undefined : this.map(identityNode, `${field}.identity`, ['issuer', 'subject', 'subject_regexp']);
    if (idMap) {
      const issuer = this.string(idMap.get('issuer'), `${field}.identity.issuer`, { required: true, parent: identityNode, pattern: /^https:\/\//, hint: 'an https:// OIDC issuer URL' });
      const subject = this.string(idMap.get('subject'), `${field}.identity.subject`);
      const subjectRegexp = this.regexp(idMap.get('subject_regexp'), `${field}.identity.subject_regexp`);
      if ((subject === undefined) === (subjectRegexp === undefined) && !this.problems.slice(before).some((p) => p.field.startsWith(`${field}.identity.subject`))) {
        this.problem(identityNode, `${field}.identity`, 'needs exactly one of subject or subject_regexp');
      }
      if (subjectRegexp !== undefined) {
        if (!subjectRegexp.startsWith('^') || !subjectRegexp.endsWith('$')) warnings.push(`${field}.identity.subject_regexp is not anchored with ^...$: it matches any identity containing it (evaluated as written, like cosign)`);
        if (/(^|[^\\])\.(?![*+?{])/.test(subjectRegexp)) warnings.push(`${field}.identity.subject_regexp has unescaped dots: "." matches any character (evaluated as written)`);
      }
      if (issuer) identity = { issuer, subject, subjectRegexp };
    }

    const artifacts: WatchTarget['artifacts'] = {};
    const artNode = m.get('artifacts');
    if (artNode !== undefined) {
      const a = this.map(artNode, `${field}.artifacts`, ['provenance', 'checksums', 'sbom']);
      if (a) {
        artifacts.provenance = this.string(a.get('provenance'), `${field}.artifacts.provenance`);
        artifacts.checksums = this.string(a.get('checksums'), `${field}.artifacts.checksums`);
        artifacts.sbom = this.string(a.get('sbom'), `${field}.artifacts.sbom`, { pattern: /^[^/\\]+$/, hint: 'an asset name or pattern with * (e.g. *.sbom.json)' });
      }
    }
    const expect = this.expect(m.get('expect'), `${field}.expect`);

    const images: ImageTarget[] = [];
    const imagesNode = m.get('images');
    if (imagesNode !== undefined && imagesNode !== null) {
      if (!isSeq(imagesNode)) this.problem(imagesNode, `${field}.images`, 'must be a list');
      else imagesNode.items.forEach((item, i) => {
        const img = this.image(item as Node, `${field}.images[${i}]`);
        if (img) images.push(img);
      });
    }

    const target: WatchTarget | undefined =
      name && github && identity
        ? {
            name,
            github,
            sourceUri: sourceUri ?? `github.com/${github}`,
            builderId,
            releases,
            identity,
            artifacts,
            expect,
            images,
            pollIntervalSeconds: this.duration(m.get('poll_interval'), `${field}.poll_interval`, defaults.pollIntervalSeconds),
            gracePeriodSeconds: this.duration(m.get('grace_period'), `${field}.grace_period`, defaults.gracePeriodSeconds),
            reverifyIntervalSeconds: this.duration(m.get('reverify_interval'), `${field}.reverify_interval`, defaults.reverifyIntervalSeconds),
            warnings,
          }
        : undefined;
    return this.problems.length === before ? target : undefined;
  }

  private expect(node: Node | null | undefined, field: string): EvidenceExpectations {
    const expect: EvidenceExpectations = { coverage: 'listed' };
    if (node === undefined || node === null) return expect;
    const keys = { provenance: 'provenance', checksums: 'checksums', sbom: 'sbom', image_signature: 'imageSignature', image_provenance: 'imageProvenance', image_sbom: 'imageSbom' } as const;
    const m = this.map(node, field, [...Object.keys(keys), 'coverage']);
    if (!m) return expect;
    for (const [key, name] of Object.entries(keys) as Array<[keyof typeof keys, (typeof keys)[keyof typeof keys]]>) {
      const value = this.string(m.get(key), `${field}.${key}`, { pattern: /^(required|optional|off)$/, hint: 'required, optional or off' });
      if (value !== undefined) expect[name] = value as EvidenceExpectation;
    }
    const coverage = this.string(m.get('coverage'), `${field}.coverage`, { pattern: /^(listed|all)$/, hint: 'listed or all' });
    if (coverage !== undefined) expect.coverage = coverage as EvidenceExpectations['coverage'];
    return expect;
  }

  private image(node: Node, field: string): ImageTarget | undefined {
    const m = this.map(node, field, ['ref', 'signatures_repository', 'sbom_repository', 'provenance_repository', 'provenance_policy', 'sbom_policy']);
    if (!m) return undefined;
    const repo = /^[a-z0-9.-]+(:[0-9]+)?(\/[a-z0-9._-]+)+$/;
    const ref = this.string(m.get('ref'), `${field}.ref`, { required: true, parent: node, pattern: repo, hint: 'registry/owner/name without tag' });
    if (!ref) return undefined;
    return {
      ref,
      signaturesRepository: this.string(m.get('signatures_repository'), `${field}.signatures_repository`, { pattern: repo, hint: 'registry/owner/name' }),
      sbomRepository: this.string(m.get('sbom_repository'), `${field}.sbom_repository`, { pattern: repo, hint: 'registry/owner/name' }),
      provenanceRepository: this.string(m.get('provenance_repository'), `${field}.provenance_repository`, { pattern: repo, hint: 'registry/owner/name' }),
      provenancePolicy: this.policy(m.get('provenance_policy'), `${field}.provenance_policy`),
      sbomPolicy: this.policy(m.get('sbom_policy'), `${field}.sbom_policy`),
    };
  }
}

/** `90s`, `5m`, `1h`, `2d` (and combinations like `1h30m`) in seconds. */
export function parseDuration(value: string): number | undefined {
  const match = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(value.trim());
  if (!match || value.trim() === '') return undefined;
  const [, d, h, m, s] = match.map((x) => (x === undefined ? 0 : Number(x)));
  return d * 86_400 + h * 3600 + m * 60 + s;
}
