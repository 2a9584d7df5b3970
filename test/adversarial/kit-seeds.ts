import { createHash } from 'node:crypto';
import {
  SigstoreTrustRoot,
  artifactFromBytes,
  exactly,
  parseProvenanceDocument,
  verifyArtifactProvenance,
  verifyBlobBundle,
  type SlsaExpectations,
} from '@provwatch/verification';
import { GENERIC_GENERATOR_V2_1_0, IN_TOTO_PAYLOAD_TYPE, type SignOptions, SigningKit, type DsseTlogKind } from '../kit/signing-kit';
import type { Expectation } from './json-mutations';
import { GITHUB_ISSUER, type Outcome, type Seed, bareVerify, outcomeOf } from './seeds';

export const KIT_IDENTITY = 'https://github.com/natrontech/pbs-exporter/.github/workflows/release.yml@refs/tags/v0.8.0';
export const ARTIFACT = Buffer.from('pbs-exporter_0.8.0_linux_amd64.tar.gz contents\n');
export const ARTIFACT_SHA256 = createHash('sha256').update(ARTIFACT).digest('hex');
const REPO = 'natrontech/pbs-exporter';
const COMMIT = '0123456789abcdef0123456789abcdef01234567';
export const GEN = 'https://github.com/slsa-framework/slsa-github-generator/.github/workflows/';

export function statement(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'pbs-exporter_0.8.0_linux_amd64.tar.gz', digest: { sha256: ARTIFACT_SHA256 } }],
    predicateType: 'https://example.test/predicate/v1',
    predicate: { note: 'kit' },
    ...overrides,
  };
}

/** The generic generator's SLSA v0.2 provenance of ARTIFACT, built from `repo` at `ref`. */
export function genericV02(o: { repo?: string; ref?: string; builderId?: string; buildType?: string; sourceUri?: string; sha?: string } = {}) {
  const repo = o.repo ?? REPO;
  const ref = o.ref ?? 'refs/tags/v0.8.0';
  const uri = o.sourceUri ?? `git+https://github.com/${repo}@${ref}`;
  return {
    _type: 'https://in-toto.io/Statement/v0.1',
    predicateType: 'https://slsa.dev/provenance/v0.2',
    subject: [{ name: 'pbs-exporter_0.8.0_linux_amd64.tar.gz', digest: { sha256: ARTIFACT_SHA256 } }],
    predicate: {
      builder: { id: o.builderId ?? GENERIC_GENERATOR_V2_1_0 },
      buildType: o.buildType ?? 'https://github.com/slsa-framework/slsa-github-generator/generic@v1',
      invocation: {
        configSource: { uri, digest: { sha1: o.sha ?? COMMIT }, entryPoint: '.github/workflows/release.yml' },
        parameters: {},
        environment: { github_event_name: 'push', github_ref: ref, github_sha1: o.sha ?? COMMIT },
      },
      materials: [{ uri, digest: { sha1: o.sha ?? COMMIT } }],
    },
  };
}

/** A delegator-signed (BYOB) SLSA v1 provenance naming `builderId`. */
export function byobV1(o: { builderId: string; ref?: string; repo?: string }) {
  const repo = o.repo ?? REPO;
  const ref = o.ref ?? 'refs/tags/v0.8.0';
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'pbs-exporter_0.8.0_linux_amd64.tar.gz', digest: { sha256: ARTIFACT_SHA256 } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: {
        buildType: 'https://github.com/slsa-framework/slsa-github-generator/delegator-generic@v0',
        externalParameters: { inputs: {}, vars: {} },
        internalParameters: {
          GITHUB_EVENT_NAME: 'push',
          GITHUB_REF: ref,
          GITHUB_REF_TYPE: ref.startsWith('refs/tags/') ? 'tag' : 'branch',
          GITHUB_REPOSITORY: repo,
          GITHUB_SHA: COMMIT,
          GITHUB_WORKFLOW_REF: `${repo}/.github/workflows/release.yml@${ref}`,
        },
        resolvedDependencies: [{ uri: `git+https://github.com/${repo}@${ref}`, digest: { gitCommit: COMMIT } }],
      },
      runDetails: { builder: { id: o.builderId }, metadata: { invocationId: `https://github.com/${repo}/actions/runs/1/attempts/1` } },
    },
  };
}

/** GitHub's attestation shape (actions/attest-build-provenance), claiming `builderId`. */
export function attestationV1(builderId: string, ref = 'refs/tags/v0.8.0') {
  const repo = `https://github.com/${REPO}`;
  return {
    _type: 'https://in-toto.io/Statement/v1',
    subject: [{ name: 'pbs-exporter_0.8.0_linux_amd64.tar.gz', digest: { sha256: ARTIFACT_SHA256 } }],
    predicateType: 'https://slsa.dev/provenance/v1',
    predicate: {
      buildDefinition: {
        buildType: 'https://actions.github.io/buildtypes/workflow/v1',
        externalParameters: { workflow: { ref, repository: repo, path: '.github/workflows/release.yml' } },
        internalParameters: { github: { event_name: 'push', repository_id: '614342349', repository_owner_id: '72906237' } },
        resolvedDependencies: [{ uri: `git+${repo}@${ref}`, digest: { gitCommit: COMMIT } }],
      },
      runDetails: { builder: { id: builderId }, metadata: { invocationId: `${repo}/actions/runs/1/attempts/1` } },
    },
  };
}

export class KitContext {
  readonly trustRoot: SigstoreTrustRoot;
  constructor(readonly kit: SigningKit) {
    this.trustRoot = SigstoreTrustRoot.fromJSON(kit.trustedRoot());
  }

  static async create(): Promise<KitContext> {
    return new KitContext(await SigningKit.create());
  }

  /** verify-bundle against ARTIFACT with the kit's identity (exact) and GitHub's issuer. */
  checkBlob(input: unknown, o: { trustRoot?: SigstoreTrustRoot; identity?: string; issuer?: string } = {}): Outcome {
    return outcomeOf(() =>
      verifyBlobBundle(input as object, {
        trustRoot: o.trustRoot ?? this.trustRoot,
        artifact: artifactFromBytes(ARTIFACT),
        identity: { subject: exactly(o.identity ?? KIT_IDENTITY), issuer: exactly(o.issuer ?? GITHUB_ISSUER) },
      }),
    );
  }

  bareBlob(input: unknown, trustedRootJson: unknown = this.kit.trustedRoot()): boolean {
    return bareVerify(trustedRootJson, input, { artifact: ARTIFACT, identity: KIT_IDENTITY, issuer: GITHUB_ISSUER });
  }

  /** verify-artifact on ARTIFACT with slsa-verifier's expectations. */
  checkProvenance(input: unknown, expectations: SlsaExpectations, trustRoot = this.trustRoot): Outcome {
    return outcomeOf(() =>
      verifyArtifactProvenance({
        trustRoot,
        document: parseProvenanceDocument(Buffer.isBuffer(input) ? input : Buffer.from(typeof input === 'string' ? input : JSON.stringify(input))),
        artifacts: [{ name: 'pbs-exporter_0.8.0_linux_amd64.tar.gz', sha256: Buffer.from(ARTIFACT_SHA256, 'hex') }],
        expectations,
      }),
    );
  }

  /** The kit-signed seeds: message signatures and DSSE statements in every bundle version and log kind, SLSA v0.2 provenance. */
  async seeds(): Promise<Seed[]> {
    const out: Seed[] = [];
    for (const version of ['0.1', '0.2', '0.3'] as const) {
      const blob = await this.kit.signBlob(ARTIFACT);
      out.push(this.blobSeed(`kit:message-v${version}`, blob.bundle(version)));
      for (const tlogKind of ['dsse/0.0.1', 'intoto/0.0.2'] as DsseTlogKind[]) {
        const dsse = await this.kit.signDsse(JSON.stringify(statement()), IN_TOTO_PAYLOAD_TYPE, { tlogKind });
        out.push(this.blobSeed(`kit:dsse-v${version}-${tlogKind.replace('/', '-')}`, dsse.bundle(version)));
      }
    }
    const provenance = await this.kit.signDsse(JSON.stringify(genericV02()), IN_TOTO_PAYLOAD_TYPE, {
      workflowUri: GENERIC_GENERATOR_V2_1_0,
      github: { sha: COMMIT },
    });
    const expectations = { sourceUri: `github.com/${REPO}`, sourceTag: 'v0.8.0' };
    out.push({
      name: 'kit:slsa-v0.2-generic',
      kind: 'provenance',
      document: provenance.bundle('0.3'),
      check: (input) => this.checkProvenance(input, expectations),
    });
    return out;
  }

  private blobSeed(name: string, document: unknown): Seed {
    return { name, kind: 'blob-bundle', document, check: (i) => this.checkBlob(i), bare: (i) => this.bareBlob(i) };
  }

  /** Signs `payload` (DSSE) with the given leaf options and returns the v0.3 bundle JSON. */
  async dsse(payload: string | Buffer, opts: SignOptions & { tlogKind?: DsseTlogKind } = {}, payloadType = IN_TOTO_PAYLOAD_TYPE) {
    return (await this.kit.signDsse(payload, payloadType, opts)).bundle('0.3');
  }
}

export interface KitMutation {
  name: string;
  expect: Expectation;
  /** signs the mutated evidence and verifies it */
  run(ctx: KitContext): Promise<{ outcome: Outcome; bare?: boolean }>;
}

const COMMIT_CLAIMS = { sha: COMMIT };

/** in-toto statement mutations, re-signed by the kit: the signature is valid, the statement is what changed. */
export function statementMutations(): KitMutation[] {
  const m: KitMutation[] = [];
  const signed = (name: string, expect: Expectation, payload: () => string | Buffer, payloadType?: string) =>
    m.push({
      name,
      expect,
      async run(ctx) {
        const bundle = await ctx.dsse(payload(), {}, payloadType);
        return { outcome: ctx.checkBlob(bundle), bare: ctx.bareBlob(bundle) };
      },
    });
  const s = (o: Record<string, unknown>) => JSON.stringify(statement(o));
  const subject = (digest: Record<string, unknown>, name = 'pbs-exporter_0.8.0_linux_amd64.tar.gz') => [{ name, digest }];
  signed('control/unchanged', 'accept', () => s({}));
  signed('_type/statement-v0.1', 'any', () => s({ _type: 'https://in-toto.io/Statement/v0.1' }));
  signed('_type/unknown', 'reject', () => s({ _type: 'https://in-toto.io/Statement/v9' }));
  signed('_type/missing', 'reject', () => s({ _type: undefined }));
  signed('_type/number', 'reject', () => s({ _type: 1 }));
  signed('subject/other-digest', 'reject', () => s({ subject: subject({ sha256: 'e'.repeat(64) }) }));
  signed('subject/digest-uppercase-key', 'reject', () => s({ subject: subject({ SHA256: ARTIFACT_SHA256 }) }));
  signed('subject/digest-sha512-only-wrong', 'reject', () => s({ subject: subject({ sha512: 'a'.repeat(128) }) }));
  signed('subject/digest-truncated', 'reject', () => s({ subject: subject({ sha256: ARTIFACT_SHA256.slice(0, 32) }) }));
  signed('subject/digest-prefix-match', 'reject', () => s({ subject: subject({ sha256: `${ARTIFACT_SHA256}00` }) }));
  signed('subject/digest-uppercase-hex', 'any', () => s({ subject: subject({ sha256: ARTIFACT_SHA256.toUpperCase() }) }));
  signed('subject/digest-number', 'reject', () => s({ subject: subject({ sha256: 12 }) }));
  signed('subject/other-name', 'any', () => s({ subject: subject({ sha256: ARTIFACT_SHA256 }, 'other-name') }));
  signed('subject/empty', 'reject', () => s({ subject: [] }));
  signed('subject/missing', 'reject', () => s({ subject: undefined }));
  signed('subject/object-not-array', 'reject', () => s({ subject: { name: 'x', digest: { sha256: ARTIFACT_SHA256 } } }));
  signed('subject/extra-subject', 'accept', () => s({ subject: [...subject({ sha256: 'e'.repeat(64) }, 'other'), ...subject({ sha256: ARTIFACT_SHA256 })] }));
  signed('predicateType/other', 'any', () => s({ predicateType: 'https://evil.test/p' }));
  signed('predicateType/missing', 'reject', () => s({ predicateType: undefined }));
  signed('predicate/missing', 'any', () => s({ predicate: undefined }));
  signed('extra-field', 'any', () => s({ zzExtra: { a: 1 } }));
  signed('__proto__-key', 'any', () => `{"__proto__":{"polluted":true},${s({}).slice(1)}`);
  // Duplicate keys: JSON.parse keeps the last; other parsers (Go's protojson) refuse or keep the
  // first. A statement that means two things to two verifiers is no proof.
  signed('duplicate-subject/wrong-first', 'reject', () => `{"subject":[{"name":"x","digest":{"sha256":"${'e'.repeat(64)}"}}],${s({}).slice(1)}`);
  signed('duplicate-subject/wrong-last', 'reject', () => `${s({}).slice(0, -1)},"subject":[{"name":"x","digest":{"sha256":"${'e'.repeat(64)}"}}]}`);
  signed('duplicate-_type/wrong-last', 'reject', () => `${s({}).slice(0, -1)},"_type":"https://evil.test/Statement"}`);
  signed('not-json', 'reject', () => 'not json at all');
  signed('json-array', 'reject', () => '[1,2,3]');
  signed('payloadType/other', 'reject', () => s({}), 'application/vnd.evil+json');
  signed('payloadType/empty', 'reject', () => s({}), '');
  signed('bom-prefixed', 'any', () => `\ufeff${s({})}`);
  return m;
}

/** Certificates the kit issues with other identities, issuers and validity; verify-bundle pins KIT_IDENTITY and GitHub's issuer. */
export function certificateMutations(): KitMutation[] {
  const m: KitMutation[] = [];
  const blob = (name: string, expect: Expectation, opts: SignOptions, check: { identity?: string; issuer?: string } = {}) =>
    m.push({
      name,
      expect,
      async run(ctx) {
        const bundle = (await ctx.kit.signBlob(ARTIFACT, opts)).bundle('0.3');
        return { outcome: ctx.checkBlob(bundle, check), bare: bareVerify(ctx.kit.trustedRoot(), bundle, { artifact: ARTIFACT, identity: check.identity ?? KIT_IDENTITY, issuer: check.issuer ?? GITHUB_ISSUER }) };
      },
    });
  blob('control/default-leaf', 'accept', {});
  // cosign's --certificate-identity matches any SAN (e-mail or URI), so for verify-bundle an
  // e-mail SAN whose text is the identity may pass; for SLSA it must not (slsa-claims below).
  blob('san/email-with-workflow-uri-text', 'any', { email: KIT_IDENTITY });
  blob('san/other-workflow', 'reject', { workflowUri: KIT_IDENTITY.replace('release.yml', 'evil.yml') });
  blob('san/case-changed', 'reject', { workflowUri: KIT_IDENTITY.replace('natrontech', 'NatronTech') });
  blob('san/trailing-slash', 'reject', { workflowUri: `${KIT_IDENTITY}/` });
  blob('san/lookalike-host', 'reject', { workflowUri: KIT_IDENTITY.replace('github.com', 'github.com.evil.test') });
  blob('issuer/trailing-slash', 'reject', { issuer: `${GITHUB_ISSUER}/` });
  blob('issuer/http', 'reject', { issuer: GITHUB_ISSUER.replace('https', 'http') });
  blob('issuer/uppercase', 'reject', { issuer: GITHUB_ISSUER.toUpperCase() });
  blob('issuer/other', 'reject', { issuer: 'https://accounts.google.com' });
  blob('ca/foreign', 'reject', { foreignCa: true });
  blob('sct/none', 'reject', { sct: false });
  blob('validity/expired-before-log', 'reject', { notBefore: new Date(Date.now() - 3 * 3600_000), notAfter: new Date(Date.now() - 2 * 3600_000) });
  blob('validity/starts-after-log', 'reject', { notBefore: new Date(Date.now() + 3600_000), notAfter: new Date(Date.now() + 2 * 3600_000) });
  blob('claims/other-repository-extension', 'any', { github: { repository: 'evil/pbs-exporter' } });
  return m;
}

/**
 * SLSA claims, re-signed: the certificate (the workflow that signed, GitHub's claims) and the
 * provenance (builder id, buildType, source, ref) are varied one at a time, and combined the way
 * issue 9 says an attacker with a private Sigstore would. verify-artifact expects
 * github.com/natrontech/pbs-exporter at tag v0.8.0.
 */
export function slsaMutations(): KitMutation[] {
  const m: KitMutation[] = [];
  const expectations: SlsaExpectations = { sourceUri: `github.com/${REPO}`, sourceTag: 'v0.8.0' };
  const prov = (
    name: string,
    expect: Expectation,
    payload: () => unknown,
    opts: SignOptions = {},
    exp: Partial<SlsaExpectations> = {},
  ) =>
    m.push({
      name,
      expect,
      async run(ctx) {
        const bundle = await ctx.dsse(JSON.stringify(payload()), { workflowUri: GENERIC_GENERATOR_V2_1_0, ...opts, github: { ...COMMIT_CLAIMS, ...opts.github } });
        return { outcome: ctx.checkProvenance(bundle, { ...expectations, ...exp }) };
      },
    });
  const at = (file: string, ref: string) => `${GEN}${file}@${ref}`;
  prov('control/generic-v2.1.0', 'accept', () => genericV02());
  prov('control/builder-id-flag', 'accept', () => genericV02(), {}, { builderId: `${GEN}generator_generic_slsa3.yml` });
  // Who signed
  for (const ref of ['refs/heads/main', 'refs/tags/v2.1.0-rc.1', 'refs/heads/v2.1.0', 'refs/tags/2.1.0', 'refs/tags/v2.1']) {
    const id = at('generator_generic_slsa3.yml', ref);
    prov(`signer-ref/generic@${ref}`, 'reject', () => genericV02({ builderId: id }), { workflowUri: id });
  }
  for (const file of ['builder_nodejs_slsa3.yml', 'builder_maven_slsa3.yml', 'builder_gradle_slsa3.yml', 'generator_container_slsa3.yml', 'evil_slsa3.yml']) {
    const id = at(file, 'refs/tags/v2.1.0');
    prov(`direct-signer/${file}`, 'reject', () => genericV02({ builderId: id }), { workflowUri: id });
  }
  // Issue 9 #2: builders that may only be delegated, signing directly in the one shape a
  // non-generator workflow may write (GitHub's attestation buildType).
  for (const file of ['builder_nodejs_slsa3.yml', 'builder_maven_slsa3.yml', 'builder_gradle_slsa3.yml']) {
    const id = at(file, 'refs/tags/v2.1.0');
    prov(`direct-signer/${file}/attestation-shape`, 'reject', () => attestationV1(id), { workflowUri: id });
  }
  const lookalike = 'https://github.com/slsa-framew0rk/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@refs/tags/v2.1.0';
  prov('signer/lookalike-org', 'reject', () => genericV02({ builderId: lookalike }), { workflowUri: lookalike });
  prov('signer/email-san-with-workflow-text', 'reject', () => genericV02(), { email: GENERIC_GENERATOR_V2_1_0, github: {} });
  prov('signer/issuer-other', 'reject', () => genericV02(), { issuer: 'https://accounts.google.com' });
  prov('signer/builder-id-flag-other', 'reject', () => genericV02(), {}, { builderId: `${GEN}builder_go_slsa3.yml` });
  // Delegators (BYOB)
  for (const delegator of ['delegator_generic_slsa3.yml', 'delegator_lowperms-generic_slsa3.yml']) {
    for (const ref of ['refs/tags/v2.1.0', 'refs/heads/main', 'refs/heads/feature', 'refs/tags/v2.1.0-rc.1']) {
      for (const builder of ['builder_nodejs_slsa3.yml', 'generator_generic_slsa3.yml', 'delegator_generic_slsa3.yml']) {
        const expect: Expectation = ref === 'refs/tags/v2.1.0' && builder === 'builder_nodejs_slsa3.yml' ? 'any' : 'reject';
        const builderId = at(builder, 'refs/tags/v2.1.0');
        prov(`delegator/${delegator}@${ref}/${builder}`, expect, () => byobV1({ builderId }), { workflowUri: at(delegator, ref) });
        if (ref === 'refs/tags/v2.1.0' && builder === 'builder_nodejs_slsa3.yml') {
          prov(`delegator/${delegator}@${ref}/${builder}/builder-id-flag-go`, 'reject', () => byobV1({ builderId }), { workflowUri: at(delegator, ref) }, { builderId: `${GEN}builder_go_slsa3.yml` });
          prov(`delegator/${delegator}@${ref}/builder-at-main`, 'reject', () => byobV1({ builderId: at(builder, 'refs/heads/main') }), { workflowUri: at(delegator, ref) });
        }
      }
    }
  }
  // What the provenance says against the certificate
  prov('builder-id/other-than-signer', 'reject', () => genericV02({ builderId: at('builder_go_slsa3.yml', 'refs/tags/v2.1.0') }));
  prov('builder-id/other-version', 'reject', () => genericV02({ builderId: at('generator_generic_slsa3.yml', 'refs/tags/v2.0.0') }));
  prov('buildType/container', 'reject', () => genericV02({ buildType: 'https://github.com/slsa-framework/slsa-github-generator/container@v1' }));
  prov('buildType/unknown', 'reject', () => genericV02({ buildType: 'https://evil.test/build@v1' }));
  // Source
  const repoCases: Array<[string, string]> = [
    ['other-repo', 'natrontech/other'],
    ['case-change', 'NatronTech/pbs-exporter'],
    ['trailing-.git', 'natrontech/pbs-exporter.git'],
    ['lookalike-repo', 'natrontech/pbs-exporter-evil'],
  ];
  for (const [name, repo] of repoCases) {
    prov(`source/provenance-${name}`, 'reject', () => genericV02({ repo }));
    prov(`source/certificate-${name}`, 'reject', () => genericV02(), { github: { repository: repo } });
    prov(`source/both-${name}`, 'reject', () => genericV02({ repo }), { github: { repository: repo } });
  }
  prov('source/lookalike-host', 'reject', () => genericV02({ sourceUri: 'git+https://github.com.evil.test/natrontech/pbs-exporter@refs/tags/v0.8.0' }));
  prov('source/gitlab-host', 'reject', () => genericV02({ sourceUri: 'git+https://gitlab.com/natrontech/pbs-exporter@refs/tags/v0.8.0' }));
  prov('source/no-ref', 'reject', () => genericV02({ sourceUri: 'git+https://github.com/natrontech/pbs-exporter' }));
  prov('source/other-commit', 'reject', () => genericV02({ sha: 'f'.repeat(40) }));
  // Refs and tags
  const refCases: Array<[string, string]> = [
    ['branch-named-like-tag', 'refs/heads/v0.8.0'],
    ['prerelease-tag', 'refs/tags/v0.8.0-rc.1'],
    ['other-tag', 'refs/tags/v0.8.1'],
    ['tag-prefix', 'refs/tags/v0.8.0.1'],
  ];
  for (const [name, ref] of refCases) {
    prov(`ref/provenance-${name}`, 'reject', () => genericV02({ ref }));
    prov(`ref/certificate-${name}`, 'reject', () => genericV02(), { github: { ref } });
    prov(`ref/both-${name}`, 'reject', () => genericV02({ ref }), { github: { ref } });
  }
  prov('ref/branch-expected-of-tag', 'reject', () => genericV02(), {}, { sourceTag: undefined, sourceBranch: 'main' });
  prov('ref/versioned-tag-ok', 'accept', () => genericV02(), {}, { sourceTag: undefined, sourceVersionedTag: 'v0.8' });
  prov('ref/versioned-tag-other', 'reject', () => genericV02(), {}, { sourceTag: undefined, sourceVersionedTag: 'v0.9' });
  prov('subject/other-digest', 'reject', () => ({ ...genericV02(), subject: [{ name: 'x', digest: { sha256: 'e'.repeat(64) } }] }));
  prov('predicateType/other', 'reject', () => ({ ...genericV02(), predicateType: 'https://slsa.dev/provenance/v9' }));
  return m;
}

/** Trust roots with odd validity windows, against a genuine kit bundle signed now. */
export function trustRootMutations(): KitMutation[] {
  const m: KitMutation[] = [];
  const day = 86_400_000;
  const iso = (ms: number) => new Date(ms).toISOString();
  const root = (name: string, expect: Expectation, edit: (r: any, now: number) => void) =>
    m.push({
      name,
      expect,
      async run(ctx) {
        const bundle = (await ctx.kit.signBlob(ARTIFACT)).bundle('0.3');
        const json: any = ctx.kit.trustedRoot();
        edit(json, ctx.kit.now.getTime());
        let trustRoot: SigstoreTrustRoot;
        try {
          trustRoot = SigstoreTrustRoot.fromJSON(JSON.stringify(json));
        } catch (err) {
          return { outcome: { status: 'fail', code: (err as { code?: string }).code ?? 'thrown', message: String(err) }, bare: ctx.bareBlob(bundle, json) };
        }
        return { outcome: ctx.checkBlob(bundle, { trustRoot }), bare: ctx.bareBlob(bundle, json) };
      },
    });
  root('control/unchanged', 'accept', () => undefined);
  root('tlog/start-in-future', 'reject', (r, now) => (r.tlogs[0].publicKey.validFor.start = iso(now + day)));
  root('tlog/end-before-entry', 'reject', (r, now) => (r.tlogs[0].publicKey.validFor.end = iso(now - day)));
  root('tlog/end-before-start', 'reject', (r, now) => (r.tlogs[0].publicKey.validFor = { start: iso(now + day), end: iso(now - day) }));
  root('tlog/missing', 'reject', (r) => (r.tlogs = []));
  root('tlog/key-of-ctlog', 'reject', (r) => (r.tlogs[0].publicKey = r.ctlogs[0].publicKey));
  root('tlog/extra-unrelated', 'accept', (r) => r.tlogs.push({ ...structuredClone(r.ctlogs[0]), baseUrl: 'https://other.test' }));
  root('ctlog/start-in-future', 'reject', (r, now) => (r.ctlogs[0].publicKey.validFor.start = iso(now + day)));
  root('ctlog/missing', 'reject', (r) => (r.ctlogs = []));
  root('ca/start-in-future', 'reject', (r, now) => (r.certificateAuthorities[0].validFor.start = iso(now + day)));
  root('ca/end-before-start', 'reject', (r, now) => (r.certificateAuthorities[0].validFor = { start: iso(now + day), end: iso(now - day) }));
  root('ca/ended-before-signing', 'reject', (r, now) => (r.certificateAuthorities[0].validFor.end = iso(now - day)));
  root('ca/missing', 'reject', (r) => (r.certificateAuthorities = []));
  root('ca/chain-without-root', 'any', (r) => r.certificateAuthorities[0].certChain.certificates.pop());
  root('ca/chain-root-only', 'reject', (r) => r.certificateAuthorities[0].certChain.certificates.shift());
  root('mediaType/other', 'reject', (r) => (r.mediaType = 'application/json'));
  return m;
}
