/**
 * e2e: `flanprov switch-backend` on real labs (systemd, sshd, Docker, etcd, real kernel routes/VXLAN).
 * 1. 3-host l2 lab: dry run changes nothing; vxlan → host-gw → vxlan with --measure (ping matrix green
 *    after each step, kernel and lease state checked over SSH and in etcd, loss printed, the inventory
 *    updated in place and a following `up` reports no change); an agent stopped during a switch is named,
 *    the config is rolled back and the running agents stay on vxlan, and the cluster is whole again once
 *    that agent runs.
 * 2. routed lab: host-gw refused in preflight naming the pairs, exit 2, the config in etcd untouched.
 * One lab at a time (2-core machine); `after()` takes each down even when a test fails.
 *
 * The switch itself needs the agent's live backend change (issue 5, point 2), which the agent pushed to
 * the hosts ($FLANPROV_AGENT, else dist/flanneld from `npm run build`) has: one without it (no
 * -backend-switch-timeout flag) fails the suite up front rather than skipping the switch.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lab, ROOT, flanprov, jsonEvents } from './up-helpers.js';
import { cliArgv } from './cli-argv.js';
import { createEtcdClient } from '../../src/etcd/client.js';
import { readConfig } from '../../src/etcd/config-store.js';
import { LeaseStore } from '../../src/etcd/lease-store.js';
import { formatNet } from '../../src/network/ipv4.js';
import type { Lease } from '../../src/network/types.js';

const PREFIX = '/coreos.com/network';
/** Fails (never skips) when the agent `up` pushes cannot switch backends live: a stale build would otherwise only show as a slow timeout. */
function assertAgentSwitchesLive(): void {
  const agent = process.env.FLANPROV_AGENT ?? join(ROOT, 'dist/flanneld');
  const help = spawnSync(agent, ['-h'], { encoding: 'utf8', timeout: 10_000 });
  assert.match(`${help.stdout ?? ''}${help.stderr ?? ''}`, /backend-switch-timeout/, `${agent} has no -backend-switch-timeout (no live backend switch): npm run build`);
}

async function etcdState(lab: Lab): Promise<{ config?: string; modRevision?: string; leases: Lease[] }> {
  const c = createEtcdClient({ endpoints: [lab.etcdEndpoint()] });
  try {
    const cfg = await readConfig(c, PREFIX);
    const { leases } = await new LeaseStore(c, PREFIX).list();
    return { ...(cfg ? { config: cfg.text, modRevision: cfg.modRevision } : {}), leases };
  } finally {
    c.close();
  }
}

function matrixGreen(events: Record<string, any>[]): void {
  const m = events.filter((e) => e.event === 'verify.matrix').at(-1);
  assert.ok(m, 'no verify.matrix event');
  for (const row of m.cells) for (const c of row) if (c) assert.ok(c.ok && c.mtuOk !== false, JSON.stringify(m));
}

/** Prints the measurement and returns its summary; every direction of every pair has figures. */
function printMeasurement(label: string, events: Record<string, any>[], pairCount: number): Record<string, any> {
  const pairs = events.filter((e) => e.event === 'measure.pair');
  const s = events.find((e) => e.event === 'measure.summary');
  assert.ok(s, `${label}: no measure.summary event`);
  process.stdout.write(`# ${label}: ${s.totalLost} of ${s.totalSent} lost, longest gap ${s.longestGapMs} ms\n`);
  for (const p of pairs) process.stdout.write(`#   ${p.from} → ${p.to}: sent ${p.sent}, lost ${p.lost}, longest gap ${p.longestGapMs} ms\n`);
  assert.equal(pairs.length, pairCount);
  for (const p of pairs) assert.ok(p.sent > 0 && !p.incomplete, `${label}: ${p.from} → ${p.to} has no figures: ${JSON.stringify(p)}`);
  return s;
}

interface IpLinkJ { ifname: string; mtu: number }
interface IpRouteJ { dst: string; gateway?: string; dev?: string }

async function assertHostGwState(lab: Lab): Promise<void> {
  const { leases } = await etcdState(lab);
  assert.equal(leases.length, lab.hosts.length);
  for (const l of leases) assert.equal(l.attrs.BackendType, 'host-gw', JSON.stringify(l.attrs));
  for (const [h, o] of await lab.sshAll('ip -j link show; echo; ip -j -4 route show')) {
    const [links, routes] = o.stdout.split('\n').filter((x) => x.trim()).map((x) => JSON.parse(x)) as [IpLinkJ[], IpRouteJ[]];
    assert.deepEqual(links.filter((l) => l.ifname.startsWith('flannel')).map((l) => l.ifname), [], `${h}: flannel device left`);
    assert.deepEqual(routes.filter((r) => r.dev?.startsWith('flannel')), [], `${h}: route through flannel left`);
    const self = lab.hosts.find((x) => x.name === h)!.ip;
    for (const l of leases.filter((x) => x.attrs.PublicIP !== self)) {
      assert.ok(routes.some((r) => r.dst === formatNet(l.subnet) && r.gateway === l.attrs.PublicIP), `${h}: no route ${formatNet(l.subnet)} via ${l.attrs.PublicIP}`);
    }
  }
}

async function assertVxlanState(lab: Lab): Promise<void> {
  const { leases } = await etcdState(lab);
  for (const l of leases) assert.equal(l.attrs.BackendType, 'vxlan', JSON.stringify(l.attrs));
  const script = 'ip -j -d link show flannel.1; echo; ip -j -4 route show; echo; ip -j -4 neigh show dev flannel.1; echo; bridge -j fdb show dev flannel.1';
  for (const [h, o] of await lab.sshAll(script)) {
    const [links, routes, neighs, fdb] = o.stdout.split('\n').filter((x) => x.trim()).map((x) => JSON.parse(x)) as [IpLinkJ[], IpRouteJ[], { dst: string; lladdr: string }[], { mac: string; dst?: string }[]];
    assert.equal(links[0]?.mtu, 1450, `${h}: flannel.1 MTU`);
    const self = lab.hosts.find((x) => x.name === h)!.ip;
    for (const l of leases.filter((x) => x.attrs.PublicIP !== self)) {
      const gw = formatNet(l.subnet).split('/')[0]!;
      const mac = String((l.attrs.BackendData as { VtepMAC: string }).VtepMAC).toLowerCase();
      assert.ok(routes.some((r) => r.dst === formatNet(l.subnet) && r.dev === 'flannel.1' && r.gateway === gw), `${h}: no vxlan route to ${formatNet(l.subnet)}`);
      assert.ok(neighs.some((n) => n.dst === gw && n.lladdr.toLowerCase() === mac), `${h}: no neighbour ${gw} ${mac}`);
      assert.ok(fdb.some((f) => f.mac.toLowerCase() === mac && f.dst === l.attrs.PublicIP), `${h}: no FDB ${mac} → ${l.attrs.PublicIP}`);
      assert.ok(!routes.some((r) => r.dst === formatNet(l.subnet) && r.gateway === l.attrs.PublicIP), `${h}: host-gw route left for ${formatNet(l.subnet)}`);
    }
  }
}

describe('switch-backend (3-host l2 lab)', { timeout: 420_000 }, () => {
  let lab: Lab;
  let inv: string;
  before(async () => {
    assertAgentSwitchesLive();
    lab = await Lab.up('e5sw');
    inv = lab.rawVariant((t) => t); // a copy: --update-inventory edits it
    const r = await flanprov('up', '-i', inv);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
  after(async () => { await lab?.down(); });

  it('--dry-run shows the plan and changes nothing', async () => {
    const before = await etcdState(lab);
    const r = await flanprov('switch-backend', 'host-gw', '-i', inv, '--dry-run', '--measure');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /plan: vxlan → host-gw on 3 host\(s\)/);
    assert.match(r.stdout, /would write \/coreos\.com\/network\/config = \{"Network":"10\.244\.0\.0\/16","Backend":\{"Type":"host-gw"\}\} \(compare-and-swap on revision \d+/);
    assert.match(r.stdout, /would start a measurement namespace with 2 pinger\(s\)/);
    const afterState = await etcdState(lab);
    assert.equal(afterState.modRevision, before.modRevision);
    for (const [h, o] of await lab.sshAll('ip netns list; ip link show fpmeas0 2>/dev/null | head -1')) assert.equal(o.stdout.trim(), '', `${h}: measurement left behind`);
  });

  it('vxlan → host-gw → vxlan with --measure: pings green, state right, every gap ≤ 1 s, up agrees', async () => {
    // Without --raise-mtu: Docker keeps the smaller MTU (1450), says so, and the next `up` agrees (no change).
    const r1 = await flanprov('switch-backend', 'host-gw', '-i', inv, '--measure', '--update-inventory', '--timeout', '60s', '--output', 'json');
    const e1 = jsonEvents(r1.stdout);
    assert.equal(r1.code, 0, r1.stdout + r1.stderr);
    matrixGreen(e1);
    assert.equal(printMeasurement('vxlan → host-gw', e1, 6).withinTarget, true, 'a gap over 1 s during vxlan → host-gw');
    assert.ok(e1.some((e) => e.event === 'log' && /Docker keeps the smaller MTU 1450 .*--raise-mtu/.test(e.message)), 'the switch says it kept the MTU');
    await assertHostGwState(lab);
    assert.match(readFileSync(inv, 'utf8'), /flannel_backend: host-gw/);
    const dockerState = "grep FLANNEL_MTU /run/flannel/subnet.env; tr '\\0' ' ' < /proc/$(systemctl show -p MainPID --value docker)/cmdline; echo; systemctl show -p ActiveEnterTimestampMonotonic --value docker";
    const kept = await lab.sshAll(dockerState);
    for (const [h, o] of kept) {
      assert.match(o.stdout, /FLANNEL_MTU=1500/, h);
      assert.match(o.stdout, /--mtu=1450/, h);
    }
    const up1 = await flanprov('up', '-i', inv);
    assert.equal(up1.code, 0, up1.stdout + up1.stderr);
    assert.match(up1.stdout, /no change/);
    assert.doesNotMatch(up1.stdout, /docker restarted/);
    assert.match(up1.stdout, /docker0 MTU 1450 < network MTU 1500: kept; `flanprov switch-backend host-gw --raise-mtu` or `flanprov up --raise-mtu` raises it/);
    for (const [h, o] of await lab.sshAll(dockerState)) assert.equal(o.stdout, kept.get(h)!.stdout, `${h}: Docker not restarted by up`);
    // `up --raise-mtu` raises it (Docker restarts), and after that `up` has nothing to do again.
    const up1r = await flanprov('up', '-i', inv, '--raise-mtu');
    assert.equal(up1r.code, 0, up1r.stdout + up1r.stderr);
    assert.match(up1r.stdout, /docker restarted \(MTU 1450 → 1500 \(--raise-mtu\)\)/);
    for (const [h, o] of await lab.sshAll(dockerState)) assert.match(o.stdout, /--mtu=1500/, h);
    const up1b = await flanprov('up', '-i', inv);
    assert.equal(up1b.code, 0, up1b.stdout + up1b.stderr);
    assert.match(up1b.stdout, /no change/);

    const r2 = await flanprov('switch-backend', 'vxlan', '-i', inv, '--measure', '--update-inventory', '--timeout', '60s', '--output', 'json');
    const e2 = jsonEvents(r2.stdout);
    assert.equal(r2.code, 0, r2.stdout + r2.stderr);
    matrixGreen(e2);
    assert.equal(printMeasurement('host-gw → vxlan', e2, 6).withinTarget, true, 'a gap over 1 s during host-gw → vxlan');
    await assertVxlanState(lab);
    for (const [h, o] of await lab.sshAll("grep FLANNEL_MTU /run/flannel/subnet.env; tr '\\0' ' ' < /proc/$(systemctl show -p MainPID --value docker)/cmdline")) {
      assert.match(o.stdout, /FLANNEL_MTU=1450/, h);
      assert.match(o.stdout, /--mtu=1450/, h);
    }
    const up2 = await flanprov('up', '-i', inv);
    assert.equal(up2.code, 0, up2.stdout + up2.stderr);
    assert.match(up2.stdout, /no change/);
  });

  it('an agent stopped during a switch: named, config rolled back, running agents on vxlan, whole again after', async () => {
    const before = await etcdState(lab);
    assert.match(before.config ?? '', /vxlan/);
    const child = spawn(process.execPath, cliArgv('switch-backend', 'host-gw', '-i', inv, '--measure', '--timeout', '60s', '--output', 'json'));
    let out = '';
    let stopped: Promise<unknown> | undefined;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      // Stop h3's agent once preflight has passed (healthy then), while the measurement starts (~0.5 s,
      // enough for the stop to land before the config is written; h3's datapath stays, so its pings pass).
      if (!stopped && /"event":"phase.start","phase":"Start measuring"/.test(out)) stopped = lab.ssh('h3', 'systemctl stop flanneld');
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const code = await new Promise<number>((r) => child.on('close', (c) => r(c ?? 1)));
    try {
      assert.ok(stopped, `the switch never reached Write config:\n${out}${err}`);
      await stopped;
      assert.equal(code, 4, out + err);
      const events = jsonEvents(out);
      const error = events.find((e) => e.event === 'error');
      assert.match(error?.message ?? '', /h3: did not follow to host-gw: flanneld is inactive; config rolled back to vxlan/);
      assert.ok(events.some((e) => e.event === 'log' && /rolled \/coreos\.com\/network\/config back to vxlan/.test(e.message)));
      printMeasurement('failed switch + rollback', events, 6);
      const st = await etcdState(lab);
      assert.equal(st.config, before.config);
      const h3ip = lab.hosts.find((h) => h.name === 'h3')!.ip;
      for (const l of st.leases.filter((x) => x.attrs.PublicIP !== h3ip)) assert.equal(l.attrs.BackendType, 'vxlan');
      for (const h of ['h1', 'h2']) {
        const s = await lab.ssh(h, "exec 3<>/dev/tcp/127.0.0.1/8471; printf 'GET /status HTTP/1.0\\r\\n\\r\\n' >&3; sed '1,/^\\r*$/d' <&3");
        assert.deepEqual((JSON.parse(s.stdout) as { backends: { type: string }[] }).backends.map((b) => b.type), ['vxlan'], h);
      }
    } finally {
      await lab.ssh('h3', 'systemctl start flanneld');
    }
    // h3's agent applies the config in etcd (vxlan) when it runs again: the whole cluster checks out.
    let check = await flanprov('check', '-i', inv);
    for (let i = 0; i < 10 && check.code !== 0; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      check = await flanprov('check', '-i', inv);
    }
    assert.equal(check.code, 0, check.stdout + check.stderr);
  });
});

describe('switch-backend (3-host routed lab)', { timeout: 240_000 }, () => {
  let lab: Lab;
  before(async () => {
    lab = await Lab.up('e5sr', ['--topology', 'routed']);
    const r = await flanprov('up', '-i', lab.inventory);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
  after(async () => { await lab?.down(); });

  it('host-gw refused in preflight, naming the pairs; exit 2; the config in etcd untouched', async () => {
    const before = await etcdState(lab);
    const r = await flanprov('switch-backend', 'host-gw', '-i', lab.inventory, '--measure');
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /not adjacent: h1 ↔ h3 \(h1 reaches [\d.]+ via [\d.]+; h3 reaches [\d.]+ via [\d.]+\), h2 ↔ h3/);
    assert.match(r.stdout, /nothing was changed/);
    assert.doesNotMatch(r.stdout, /Start measuring \(/);
    const afterState = await etcdState(lab);
    assert.equal(afterState.config, before.config);
    assert.equal(afterState.modRevision, before.modRevision);
    for (const l of afterState.leases) assert.equal(l.attrs.BackendType, 'vxlan');
  });
});
