/**
 * The facts script's flanneld finder (foreign-agent.ts) run by bash against this machine's real /proc:
 * a process whose argv is flanneld's (a bash copy named flanneld-amd64, kept from exec'ing by `; :`) is
 * found with its pid, executable, argv and FLANNELD_* environment; grep does not find itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { flanneldProcsCommand, parseFlanneldProcs } from '../../src/phases/shared/foreign-agent.js';

test('finds a hand-started flanneld on the real /proc with its flags and FLANNELD_* environment', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'afp-procs-'));
  const exe = join(dir, 'flanneld-amd64');
  copyFileSync('/bin/bash', exe);
  const child = spawn(exe, ['-c', 'sleep 30; :', '-etcd-prefix=/docker-test/network', '-iface', 'lo'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', FLANNELD_ETCD_ENDPOINTS: 'http://127.0.0.1:2379', OTHER: 'x' }, stdio: 'ignore',
  });
  try {
    await new Promise((r) => setTimeout(r, 200));
    const out = execFileSync('bash', ['-c', flanneldProcsCommand()], { encoding: 'utf8' });
    const found = parseFlanneldProcs(out).filter((p) => p.pid === child.pid);
    assert.equal(found.length, 1, out);
    const p = found[0]!;
    assert.equal(p.path, exe);
    assert.deepEqual(p.env, { FLANNELD_ETCD_ENDPOINTS: 'http://127.0.0.1:2379' });
    assert.equal(p.flags?.etcdPrefix, '/docker-test/network');
    assert.deepEqual(p.flags?.iface, ['lo']);
    assert.equal(p.flags?.etcdEndpoints, 'http://127.0.0.1:2379');
    assert.ok(!parseFlanneldProcs(out).some((x) => /grep/.test(x.path)));
  } finally {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
