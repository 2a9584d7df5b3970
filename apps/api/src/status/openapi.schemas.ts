import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';

// Response shapes for the OpenAPI document (served at /api/docs). They describe what the
// presenters in status.presenter.ts return.
const status: SchemaObject = { type: 'string', enum: ['pass', 'fail', 'missing', 'error', 'not-applicable'], nullable: true, description: 'Worst current status; null when nothing was verified yet.' };
const counts: SchemaObject = {
  type: 'object',
  properties: { pass: { type: 'integer' }, fail: { type: 'integer' }, missing: { type: 'integer' }, error: { type: 'integer' }, 'not-applicable': { type: 'integer' } },
};
const time: SchemaObject = { type: 'string', format: 'date-time', nullable: true };

export const ERROR_SCHEMA: SchemaObject = {
  type: 'object',
  required: ['error'],
  properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string', example: 'not-found' }, message: { type: 'string' } } } },
};

export const TARGET_SUMMARY_SCHEMA: SchemaObject = {
  type: 'object',
  properties: {
    name: { type: 'string', example: 'pbs-exporter' },
    github: { type: 'string', example: 'natrontech/pbs-exporter' },
    status,
    counts,
    lastVerifiedAt: time,
    latestRelease: { type: 'object', nullable: true, properties: { tag: { type: 'string' }, publishedAt: time, status } },
  },
};

export const TARGET_LIST_SCHEMA: SchemaObject = {
  type: 'object',
  properties: { items: { type: 'array', items: TARGET_SUMMARY_SCHEMA }, next: { type: 'string', nullable: true, description: 'Cursor for the next page.' } },
};

export const TARGET_DETAIL_SCHEMA: SchemaObject = {
  type: 'object',
  properties: {
    ...TARGET_SUMMARY_SCHEMA.properties,
    sourceUri: { type: 'string' },
    identity: { type: 'object', properties: { issuer: { type: 'string' }, subject: { type: 'string' }, subjectRegexp: { type: 'string' } } },
    images: { type: 'array', items: { type: 'string' } },
    polls: { type: 'array', items: { type: 'object', properties: { source: { type: 'string' }, lastPolledAt: time, lastSuccessAt: time, lastErrorCode: { type: 'string', nullable: true } } } },
  },
};

const RELEASE_SUMMARY_SCHEMA: SchemaObject = {
  type: 'object',
  properties: {
    tag: { type: 'string' },
    githubReleaseId: { type: 'integer' },
    name: { type: 'string', nullable: true },
    prerelease: { type: 'boolean' },
    publishedAt: time,
    discoveredAt: time,
    deletedAt: time,
    immutable: { type: 'boolean', nullable: true, description: "GitHub's immutable-release flag as last seen; null when GitHub did not say." },
    immutableSince: { ...time, description: 'When provwatch first saw the release immutable; kept if it stops being so (that fails release-assets with immutability-revoked).' },
    status,
    counts,
  },
};

export const RELEASE_LIST_SCHEMA: SchemaObject = {
  type: 'object',
  properties: { items: { type: 'array', items: RELEASE_SUMMARY_SCHEMA }, next: { type: 'string', nullable: true } },
};

export const RELEASE_DETAIL_SCHEMA: SchemaObject = {
  type: 'object',
  properties: {
    target: { type: 'string' },
    release: RELEASE_SUMMARY_SCHEMA,
    status,
    images: { type: 'array', items: { type: 'object', properties: { repository: { type: 'string' }, digest: { type: 'string', nullable: true }, firstDigest: { type: 'string', nullable: true } } } },
    checks: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          subject: { type: 'string', enum: ['release', 'image'] },
          image: { type: 'string', nullable: true },
          check: { type: 'string', example: 'artifact-provenance' },
          status: { type: 'string', enum: ['pass', 'fail', 'missing', 'error', 'not-applicable'] },
          code: { type: 'string', example: 'verified' },
          message: { type: 'string' },
          since: time,
          checkedAt: time,
          evidence: { type: 'object', additionalProperties: true, description: 'Digests, builder, source, signer identity, log entries: what the verdict rests on.' },
          sbom: { type: 'object', nullable: true },
        },
      },
    },
  },
};

export const RUN_LIST_SCHEMA: SchemaObject = {
  type: 'object',
  properties: {
    items: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          id: { type: 'string' },
          subject: { type: 'string', enum: ['release', 'image'] },
          subjectKey: { type: 'string' },
          trigger: { type: 'string' },
          startedAt: time,
          finishedAt: time,
          status: { type: 'string', enum: ['pass', 'fail', 'missing', 'error', 'not-applicable'] },
          checks: { type: 'array', items: { type: 'object', properties: { check: { type: 'string' }, status: { type: 'string' }, code: { type: 'string' }, message: { type: 'string' } } } },
        },
      },
    },
    next: { type: 'string', nullable: true },
  },
};

export const VERIFY_ACCEPTED_SCHEMA: SchemaObject = {
  type: 'object',
  properties: { target: { type: 'string' }, tag: { type: 'string' }, jobs: { type: 'array', items: { type: 'string' } } },
};

export const BADGE_SCHEMA: SchemaObject = {
  type: 'object',
  description: 'shields.io endpoint badge: https://img.shields.io/endpoint?url=<this URL>',
  properties: {
    schemaVersion: { type: 'integer', example: 1 },
    label: { type: 'string', example: 'supply chain' },
    message: { type: 'string', example: 'verified' },
    color: { type: 'string', example: 'brightgreen' },
    isError: { type: 'boolean' },
  },
};
