import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { newestReleaseTags } from './image-discovery';

test('release tags, newest first by semver; a release above its prereleases; other tags ignored', () => {
  const tags = ['latest', 'main', 'sha-abc123', 'v0.9.0', 'v0.10.0', 'v0.10.0-rc.1', '0.8.1', 'v1.0.0+build', 'sha256-abc.sig', 'v2'];
  assert.deepEqual(newestReleaseTags(tags, 3), ['v0.10.0', 'v0.10.0-rc.1', 'v0.9.0']);
  assert.deepEqual(newestReleaseTags(tags, 10), ['v0.10.0', 'v0.10.0-rc.1', 'v0.9.0', '0.8.1']);
  assert.deepEqual(newestReleaseTags([], 5), []);
});
