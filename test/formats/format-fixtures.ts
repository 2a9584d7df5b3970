// Shared set-up for the format tests: files on disk for the CLI, the kit's private trust root,
// and assertions on exit code + reason code (never on message text, which may change).
import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SigningKit } from '../kit/signing-kit';
import type { CliResult } from '../support/run-cli';

export class Scratch {
  readonly dir = mkdtempSync(join(tmpdir(), 'provwatch-formats-'));
  private n = 0;

  /**
   * Writes `content` to `name` in a fresh sub-directory: cases never share a file, and the base
   * name stays exactly `name` (verify-artifact reports artifacts by base name).
   */
  file(name: string, content: string | Buffer | object): string {
    const dir = join(this.dir, String(++this.n));
    mkdirSync(dir);
    const path = join(dir, name);
    writeFileSync(path, typeof content === 'string' || Buffer.isBuffer(content) ? content : JSON.stringify(content));
    return path;
  }

  /** The kit's private root as a `trusted_root.json` for --trusted-root. */
  trustedRoot(kit: SigningKit): string {
    return this.file('trusted_root.json', kit.trustedRoot());
  }
}

export function assertPassed(result: CliResult): void {
  assert.equal(result.code, 0, `expected PASSED, got exit ${result.code}: ${result.stdout} ${result.stderr}`);
  // The replaced tool's own line first (slsa-verifier's or cosign's), then provwatch's detail.
  assert.match(result.stdout, /^(PASSED: Verified [A-Za-z ]+|Verified OK)\nprovwatch: \S/);
}

/** Exit 1 with `FAILED: <code>:`; several codes allowed only where the library may legitimately pick either. */
export function assertFailed(result: CliResult, ...codes: string[]): string {
  assert.equal(result.code, 1, `expected FAILED (${codes.join(' | ')}), got exit ${result.code}: ${result.stdout} ${result.stderr}`);
  assert.doesNotMatch(result.stdout, /PASSED|Verified OK/);
  const match = /^FAILED: ([a-z0-9-]+): /.exec(result.stdout);
  assert.ok(match, `no FAILED line: ${result.stdout}`);
  assert.ok(codes.includes(match[1]), `expected ${codes.join(' | ')}, got ${match[1]}: ${result.stdout}`);
  return match[1];
}

/** Flips one bit inside a base64 value: a tampered signature of the same length. */
export function flipBase64(value: string, byteIndex = 10): string {
  const bytes = Buffer.from(value, 'base64');
  bytes[byteIndex] ^= 0x01;
  return bytes.toString('base64');
}

/** The kit's default leaf identity (caller workflow at its ref) and issuer. */
export const KIT_IDENTITY = 'https://github.com/natrontech/pbs-exporter/.github/workflows/release.yml@refs/tags/v0.8.0';
export const KIT_ISSUER = 'https://token.actions.githubusercontent.com';

/** A URL on 127.0.0.1 where nothing listens any more: a log that is down. */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
