import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileStateStore, SANDBOX_DIR } from '../../../../src/agent/cni/state.js';

test('the delegate config as flannel keeps it (<dataDir>/<id>, 0600), the sandbox beside it; load after "restart"; remove both', () => {
  const d = join(mkdtempSync(join(tmpdir(), 'fpn-state-')), 'flannel');
  try {
    fileStateStore.save(d, 'c1', '{"type":"bridge"}', { netns: '/run/netns/x', ifname: 'eth0', network: 'flannel' });
    assert.equal(readFileSync(join(d, 'c1'), 'utf8'), '{"type":"bridge"}');
    assert.equal(statSync(join(d, 'c1')).mode & 0o777, 0o600);
    assert.equal(statSync(d).mode & 0o777, 0o700);
    assert.deepEqual(JSON.parse(readFileSync(join(d, SANDBOX_DIR, 'c1'), 'utf8')), { netns: '/run/netns/x', ifname: 'eth0', network: 'flannel' });
    assert.deepEqual(readdirSync(d).sort(), ['.sandbox', 'c1'], 'no temporary file left');
    assert.equal(fileStateStore.load(d, 'c1'), '{"type":"bridge"}');
    assert.equal(fileStateStore.load(d, 'nope'), undefined);
    fileStateStore.remove(d, 'c1');
    fileStateStore.remove(d, 'c1');
    assert.equal(existsSync(join(d, 'c1')), false);
    assert.equal(existsSync(join(d, SANDBOX_DIR, 'c1')), false);
  } finally {
    rmSync(join(d, '..'), { recursive: true, force: true });
  }
});
