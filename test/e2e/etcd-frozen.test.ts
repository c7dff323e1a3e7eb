/**
 * e2e (issue 13.2, CLI side): with the lab's etcd frozen (SIGSTOP: the TCP port still accepts, nothing
 * answers) `status`, `check` and `up` give up within their deadline with exit 3 and a message naming the
 * endpoint and what was being done — they never hang. `--etcd-timeout` sets the deadline.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LABS, Lab, flanprov, sh } from './up-helpers.js';

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

  it('one agent cut off from etcd (the controller still reaches it): check fails naming that host, status says so', async () => {
    const ns = `fpl-${lab.name}-h1`;
    // Only established traffic from h1 to etcd is dropped: a new TCP connection still completes (the facts'
    // reachability probe passes), but the agent's requests never arrive.
    const rules = [['OUTPUT', '-p', 'tcp', '--dport', '2379', '-m', 'conntrack', '--ctstate', 'ESTABLISHED', '-j', 'DROP']];
    for (const r of rules) assert.equal((await sh('ip', ['netns', 'exec', ns, 'iptables', '-I', ...r])).code, 0);
    try {
      // the agent notices within seconds (its liveness probe: every 2 s, 3 s deadline)
      let check: Awaited<ReturnType<typeof flanprov>> | undefined;
      for (let i = 0; i < 10; i++) {
        check = await flanprov('check', '-i', lab.inventory);
        if (check.code !== 0) break;
        await new Promise((r) => setTimeout(r, 2000));
      }
      assert.equal(check!.code, 5, check!.stdout + check!.stderr);
      assert.match(check!.stdout + check!.stderr, /h1.*flanneld does not reach etcd/);
      const st = await flanprov('status', '-i', lab.inventory);
      assert.equal(st.code, 0, st.stdout + st.stderr);
      assert.match(st.stdout, /h1 .*etcd unreachable/);
    } finally {
      for (const r of rules) await sh('ip', ['netns', 'exec', ns, 'iptables', '-D', ...r.slice(0)]);
    }
    let ok = false;
    for (let i = 0; i < 15 && !ok; i++) {
      ok = (await flanprov('check', '-i', lab.inventory)).code === 0;
      if (!ok) await new Promise((r) => setTimeout(r, 2000));
    }
    assert.ok(ok, 'check green again once the agent reaches etcd');
  });
});
