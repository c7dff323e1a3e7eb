/**
 * e2e (issue 13.2, CLI side): with the lab's etcd frozen (SIGSTOP: the TCP port still accepts, nothing
 * answers) `status`, `check` and `up` give up within their deadline with exit 3 and a message naming the
 * endpoint and what was being done — they never hang. `--etcd-timeout` sets the deadline.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LABS, Lab, flanprov } from './up-helpers.js';

describe('a frozen etcd: the CLI answers within its deadline (3-host lab)', { timeout: 300_000 }, () => {
  let lab: Lab;
  let etcdPid: number;
  before(async () => {
    lab = await Lab.up('e4fz');
    const r = await flanprov('up', lab.inventory);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    etcdPid = (JSON.parse(readFileSync(join(LABS, lab.name, 'state.json'), 'utf8')) as { etcd: { pid: number } }).etcd.pid;
    assert.ok(etcdPid > 0);
    process.kill(etcdPid, 'SIGSTOP');
  });
  after(async () => {
    if (etcdPid) process.kill(etcdPid, 'SIGCONT');
    await lab?.down();
  });

  for (const [cmd, args, what] of [
    ['status', [], /listing the leases|etcd does not answer/],
    ['check', [], /reading the network config|etcd does not answer/],
    ['up', ['--etcd-timeout', '2s'], /reading the network config|etcd does not answer/],
  ] as const) {
    it(`${cmd} ${args.join(' ')}: exit 3 within its deadline, naming the endpoint`, async () => {
      const r = await flanprov(cmd, '-i', lab.inventory, ...args);
      console.log(`# ${cmd} ${args.join(' ')} with etcd frozen: exit ${r.code} after ${(r.ms / 1000).toFixed(1)} s`);
      assert.equal(r.code, 3, r.stdout + r.stderr);
      const out = r.stdout + r.stderr;
      assert.match(out, new RegExp(lab.etcdEndpoint().replace(/[.:/]/g, '\\$&')));
      assert.match(out, what);
      // direct (≤1.5 s) + at most two tunnels at the deadline + facts and connect, on a shared machine: never 150 s
      assert.ok(r.ms < 25_000, `took ${r.ms} ms`);
    });
  }

  it('etcd back: status answers again', async () => {
    process.kill(etcdPid, 'SIGCONT');
    const r = await flanprov('status', '-i', lab.inventory);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
});
