import { strict as assert } from 'node:assert';
import { test } from 'node:test';

/**
 * @sigstore/verify 4.1.x declares Node 22 but runs on Node 20, and it has what 3.x lacks (Rekor v2
 * entries, checkpoint name matching, duplicate tlog entries counted once). It is pinned; this
 * proves the pinned version is the one that loads on this Node.
 */
test('the pinned @sigstore/verify 4.1.x loads on this Node', () => {
  const pkg = require('@sigstore/verify/package.json') as { version: string };
  assert.match(pkg.version, /^4\.1\.\d+$/);
  const verify = require('@sigstore/verify') as Record<string, unknown>;
  for (const name of ['Verifier', 'toSignedEntity', 'toTrustMaterial']) assert.equal(typeof verify[name], 'function', name);
  assert.ok(Number(process.versions.node.split('.')[0]) >= 20);
});
