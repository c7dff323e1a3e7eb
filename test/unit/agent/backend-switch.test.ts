/**
 * The live backend switch's state machine with a fake backend (records what it is asked to program) and
 * fake timers (node:test's mock.timers: the settle time and the deadline pass on tick(), Date with them).
 */
import { afterEach, beforeEach, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { ActiveBackends, type BackendAttrs } from '../../../src/agent/active-backends.js';
import { BackendSwitch, SWITCH_SETTLE_MS, type SwitchOutcome } from '../../../src/agent/backend-switch.js';
import type { Backend, ReconcileResult } from '../../../src/agent/backends/backend.js';
import type { Leftover } from '../../../src/agent/leftovers.js';
import { PeerSet } from '../../../src/agent/peers.js';
import { Reconciler } from '../../../src/agent/reconciler.js';
import { parseNetworkConfig } from '../../../src/network/config.js';
import { formatNet, parseCidr } from '../../../src/network/ipv4.js';
import type { Ipv4Net, Lease, NetworkConfig, SupportedBackendType } from '../../../src/network/types.js';

const TIMEOUT_MS = 60_000;
const OWN = parseCidr('10.5.1.0/24')!;
const cfg = (backend: Record<string, unknown>): NetworkConfig => parseNetworkConfig({ Network: '10.5.0.0/16', Backend: backend });
const VXLAN = cfg({ Type: 'vxlan' });
const HOSTGW = cfg({ Type: 'host-gw' });

class FakeBackend implements Backend {
  readonly type: SupportedBackendType;
  readonly mtu: number;
  /** what the last reconcile was asked to program (subnets) */
  programmed: string[] = [];
  prepared = 0;
  activatedWith: Ipv4Net | undefined;
  tornDown = false;
  failPrepare = false;
  constructor(type: string, readonly mac = '0e:00:00:00:00:01') {
    this.type = type as SupportedBackendType;
    this.mtu = type === 'vxlan' ? 1450 : 1500;
  }
  async prepare(): Promise<BackendAttrs> {
    this.prepared++;
    if (this.failPrepare) throw new Error('no such device');
    return this.type === 'vxlan' ? { BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: this.mac } } : { BackendType: this.type };
  }
  async activate(sn: Ipv4Net): Promise<void> {
    this.activatedWith = sn;
  }
  async reconcile(peers: readonly Lease[]): Promise<ReconcileResult> {
    this.programmed = peers.map((l) => formatNet(l.subnet));
    return { added: 0, removed: 0, unchanged: peers.length };
  }
  async teardown(): Promise<void> {
    this.tornDown = true;
  }
}

const lease = (sn: string, ip: string, type: string): Lease => ({
  subnet: parseCidr(sn)!,
  attrs: { PublicIP: ip, PublicIPv6: null, BackendType: type, ...(type === 'vxlan' ? { BackendData: { VNI: 1, VtepMAC: '0e:00:00:00:00:02' } } : {}) },
});
const P2 = '10.5.2.0/24';
const P3 = '10.5.3.0/24';

interface Rig {
  sw: BackendSwitch;
  active: ActiveBackends;
  peers: PeerSet;
  /** the backend running before the switch (the primary config's type) */
  first: FakeBackend;
  made: FakeBackend[];
  published: BackendAttrs[];
  lines: string[];
  subnetEnvWrites: number;
  /** a peer's lease now says `type` (as a watch event would) */
  move(sn: string, type: string): void;
  /** what backend `type` programmed in its last pass */
  programmed(type: string): string[];
}

function rig(o: { primary?: NetworkConfig; createFails?: string; prepareFails?: boolean } = {}): Rig {
  const lines: string[] = [];
  const log = {
    info: (m: string) => lines.push(`I ${m}`), warn: (m: string) => lines.push(`W ${m}`), error: (m: string) => lines.push(`E ${m}`), debug: () => undefined,
  };
  const active = new ActiveBackends();
  const peers = new PeerSet();
  peers.setOwnSubnet(OWN);
  peers.reset([lease(P2, '192.0.0.2', 'vxlan'), lease(P3, '192.0.0.3', 'vxlan')]);
  const reconciler = new Reconciler({ active, peers, log });
  const made: FakeBackend[] = [];
  const published: BackendAttrs[] = [];
  const r: Rig = {
    sw: undefined as unknown as BackendSwitch, active, peers, made, published, lines, subnetEnvWrites: 0,
    first: new FakeBackend((o.primary ?? VXLAN).backendType),
    move: (sn, type) => {
      peers.apply([{ type: 'put', lease: lease(sn, `192.0.0.${sn.split('.')[2]}`, type) }]);
      r.sw.peersChanged();
    },
    programmed: (type) => (made.find((b) => b.type === type) ?? (type === r.first.type ? r.first : undefined))?.programmed ?? [],
  };
  r.sw = new BackendSwitch({
    active, peers, reconciler, log, timeoutMs: TIMEOUT_MS,
    createBackend: (c) => {
      if (o.createFails === c.backendType) throw new Error(`backend type "${c.backendType}" is unknown`);
      const b = new FakeBackend(c.backendType, '0e:00:00:00:00:09');
      b.failPrepare = o.prepareFails ?? false;
      made.push(b);
      return b;
    },
    ownSubnet: () => OWN,
    publish: async (attrs, stillWanted) => {
      if (stillWanted()) published.push(attrs);
    },
    writeSubnetEnv: async () => {
      r.subnetEnvWrites++;
    },
  });
  const attrs: BackendAttrs = r.first.type === 'vxlan' ? { BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: r.first.mac } } : { BackendType: r.first.type };
  active.setPrimary({ backend: r.first, config: o.primary ?? VXLAN, attrs }, o.primary ?? VXLAN);
  return r;
}

/** Let the async work a timer started (kernel queue, teardown) run to its end. */
const settle = () => new Promise((r) => setImmediate(r));
async function tick(ms: number): Promise<void> {
  mock.timers.tick(ms);
  for (let i = 0; i < 5; i++) await settle();
}

beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: Date.parse('2026-01-01T00:00:00Z') }));
afterEach(() => mock.timers.reset());

test('vxlan -> host-gw: new datapath first, lease and subnet.env updated, old kept while peers use it', async () => {
  const r = rig();
  const out = await r.sw.apply(HOSTGW, '7');
  assert.deepEqual(out, { kind: 'switched' });
  assert.deepEqual(r.active.types(), ['host-gw', 'vxlan'], 'new backend is the primary, old one still active');
  assert.equal(r.active.config, HOSTGW);
  const hg = r.made[0]!;
  assert.equal(hg.prepared, 1);
  assert.equal(formatNet(hg.activatedWith!), '10.5.1.0/24');
  assert.deepEqual(r.programmed('vxlan'), [P2, P3], 'peers still on vxlan are programmed by vxlan');
  assert.deepEqual(r.programmed('host-gw'), []);
  assert.deepEqual(r.published, [{ BackendType: 'host-gw' }]);
  assert.equal(r.subnetEnvWrites, 1);
  const st = r.sw.status()!;
  assert.equal(st.reason, 'config change');
  assert.deepEqual(st.from, ['vxlan']);
  assert.deepEqual(st.waitingFor, [P2, P3]);
  assert.equal(Date.parse(st.deadline) - Date.parse(st.since), TIMEOUT_MS);
  assert.ok(r.lines.some((l) => /^I network config changed \(revision 7\): backend vxlan -> host-gw; switching live/.test(l)));
});

test('the switch completes once every peer moved, after the settle time', async () => {
  const r = rig();
  await r.sw.apply(HOSTGW, '7');
  r.move(P2, 'host-gw');
  assert.deepEqual(r.sw.status()!.waitingFor, [P3]);
  await tick(SWITCH_SETTLE_MS * 4);
  assert.equal(r.sw.switching, true, 'one peer left: no settle timer');
  r.move(P3, 'host-gw');
  await tick(SWITCH_SETTLE_MS - 1);
  assert.equal(r.sw.switching, true, 'still settling');
  assert.equal(r.first.tornDown, false);
  await tick(1);
  assert.equal(r.sw.switching, false);
  assert.equal(r.first.tornDown, true);
  assert.deepEqual(r.active.types(), ['host-gw']);
  assert.deepEqual(r.programmed('host-gw'), [P2, P3], 'the last pass programs every peer by host-gw');
  assert.equal(r.sw.lastSwitch()!.outcome, 'every peer moved');
  assert.ok(r.lines.some((l) => /^I backend switch to host-gw complete after \d+\.\d s \(every peer moved\): vxlan removed$/.test(l)));
});

test('a peer that moves back during the settle time keeps the old datapath', async () => {
  const r = rig();
  await r.sw.apply(HOSTGW, '7');
  r.move(P2, 'host-gw');
  r.move(P3, 'host-gw');
  await tick(SWITCH_SETTLE_MS / 2);
  r.move(P3, 'vxlan');
  await tick(SWITCH_SETTLE_MS * 2);
  assert.equal(r.sw.switching, true);
  assert.equal(r.first.tornDown, false);
  assert.deepEqual(r.sw.status()!.waitingFor, [P3]);
  r.move(P3, 'host-gw');
  await tick(SWITCH_SETTLE_MS);
  assert.equal(r.sw.switching, false);
  assert.equal(r.first.tornDown, true);
});

test('at the deadline the old datapath goes even with peers left, and they are no longer programmed', async () => {
  const r = rig();
  await r.sw.apply(HOSTGW, '7');
  r.move(P2, 'host-gw');
  await tick(TIMEOUT_MS - 1);
  assert.equal(r.sw.switching, true);
  await tick(1);
  assert.equal(r.sw.switching, false);
  assert.equal(r.first.tornDown, true);
  assert.deepEqual(r.active.types(), ['host-gw']);
  assert.equal(r.sw.lastSwitch()!.outcome, 'timeout (1 peer(s) had not moved)');
  assert.equal(r.sw.lastSwitch()!.durationMs, TIMEOUT_MS);
  assert.ok(r.lines.some((l) => l === `W backend switch to host-gw: 1 peer(s) still on vxlan after 60s: ${P3} via 192.0.0.3 (vxlan); removing vxlan anyway (they are unreachable until they move)`));
  assert.deepEqual(r.programmed('host-gw'), [P2]);
  assert.ok(r.lines.some((l) => l === `W Ignoring non-host-gw subnet ${P3} (PublicIP 192.0.0.3): type=vxlan`), 'the peer left behind is reported');
});

test('a newer config supersedes a switch in flight: its own deadline counts, every old backend goes at the end', async () => {
  const r = rig();
  await r.sw.apply(HOSTGW, '7');
  await tick(TIMEOUT_MS / 2);
  const IPIP = cfg({ Type: 'ipip' });
  assert.deepEqual(await r.sw.apply(IPIP, '8'), { kind: 'switched' });
  assert.deepEqual(r.active.types(), ['ipip', 'host-gw', 'vxlan']);
  assert.deepEqual(r.sw.status()!.from, ['host-gw', 'vxlan']);
  assert.deepEqual(r.published, [{ BackendType: 'host-gw' }, { BackendType: 'ipip' }]);
  await tick(TIMEOUT_MS / 2);
  assert.equal(r.sw.switching, true, 'the first switch\'s deadline no longer applies');
  r.move(P2, 'ipip');
  r.move(P3, 'ipip');
  await tick(SWITCH_SETTLE_MS);
  assert.equal(r.sw.switching, false);
  assert.deepEqual(r.active.types(), ['ipip']);
  assert.equal(r.made[0]!.tornDown && r.first.tornDown, true, 'host-gw and vxlan both torn down');
  assert.equal(r.made[1]!.tornDown, false);
});

test('switching back while the old datapath is still up reuses it when its options are the same', async () => {
  const r = rig();
  await r.sw.apply(HOSTGW, '7');
  r.move(P2, 'host-gw');
  const back = cfg({ Type: 'vxlan', VNI: 1, Port: 8472 }); // explicit defaults: the same options
  assert.deepEqual(await r.sw.apply(back, '8'), { kind: 'switched' });
  assert.equal(r.made.length, 1, 'no new vxlan backend: the running one is reused');
  assert.deepEqual(r.active.types(), ['vxlan', 'host-gw']);
  assert.deepEqual(r.published.at(-1), { BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: r.first.mac } }, 'the same VTEP MAC is published again');
  assert.deepEqual(r.sw.status()!.waitingFor, [P2], 'now waiting for the peer that went to host-gw');
  r.move(P2, 'vxlan');
  await tick(SWITCH_SETTLE_MS);
  assert.equal(r.sw.switching, false);
  assert.equal(r.first.tornDown, false);
  assert.equal(r.made[0]!.tornDown, true);
  assert.deepEqual(r.active.types(), ['vxlan']);
});

test('switching back with other options while the old datapath is up needs a restart, and changes nothing', async () => {
  const r = rig();
  await r.sw.apply(HOSTGW, '7');
  const out = await r.sw.apply(cfg({ Type: 'vxlan', VNI: 2 }), '8');
  assert.deepEqual(out, { kind: 'restart-needed', note: 'restart flanneld to apply: vxlan options changed while the old vxlan datapath is still active' });
  assert.deepEqual(r.active.types(), ['host-gw', 'vxlan']);
  assert.equal(r.active.config, HOSTGW);
  assert.equal(r.sw.status()!.to, 'host-gw');
  assert.equal(r.published.length, 1);
});

test('a backend that cannot be made or prepared leaves the old one in charge', async () => {
  const r = rig({ createFails: 'host-gw' });
  const out: SwitchOutcome = await r.sw.apply(HOSTGW, '7');
  assert.deepEqual(out, { kind: 'restart-needed', note: 'cannot switch to host-gw: backend type "host-gw" is unknown' });
  assert.deepEqual(r.active.types(), ['vxlan']);
  const r2 = rig({ prepareFails: true });
  assert.deepEqual(await r2.sw.apply(HOSTGW, '7'), { kind: 'failed' });
  assert.equal(r2.made[0]!.tornDown, true, 'the half-made backend is removed');
  assert.deepEqual(r2.active.types(), ['vxlan']);
  assert.equal(r2.published.length, 0);
  assert.ok(r2.lines.some((l) => l === 'E cannot switch to host-gw: preparing it failed: no such device; staying on vxlan'));
});

test('restarted in the middle: the other backend\'s leftovers are adopted while peers use them, then removed', async () => {
  const r = rig({ primary: HOSTGW });
  r.move(P2, 'host-gw');
  const old = new FakeBackend('vxlan', '0e:00:00:00:00:33');
  const leftover: Leftover = { backend: old, config: VXLAN, what: 'device flannel.1' };
  await r.sw.adopt([leftover], OWN);
  assert.deepEqual(r.active.types(), ['host-gw', 'vxlan']);
  assert.equal(r.active.primary()!.backend, r.first, 'the configured backend stays primary');
  assert.equal(formatNet(old.activatedWith!), '10.5.1.0/24');
  const st = r.sw.status()!;
  assert.equal(st.reason, 'restart');
  assert.deepEqual(st.waitingFor, [P3]);
  assert.ok(r.lines.some((l) => l === 'W found device flannel.1 of the vxlan backend (a backend switch was interrupted?): keeping it for 1 peer(s) still on vxlan until they move to host-gw (at most 60s)'));
  r.sw.arm();
  r.move(P3, 'host-gw');
  await tick(SWITCH_SETTLE_MS);
  assert.equal(old.tornDown, true);
  assert.equal(r.sw.switching, false);
});

test('restarted after the switch: leftovers nobody uses are removed at once', async () => {
  const r = rig({ primary: HOSTGW });
  r.move(P2, 'host-gw');
  r.move(P3, 'host-gw');
  const old = new FakeBackend('vxlan');
  await r.sw.adopt([{ backend: old, config: VXLAN, what: 'device flannel.1' }], OWN);
  assert.equal(old.tornDown, true);
  assert.equal(old.prepared, 0);
  assert.equal(r.sw.switching, false);
  assert.ok(r.lines.some((l) => l === 'I removed device flannel.1 left by the vxlan backend: configured host-gw and no peer uses vxlan any more'));
});

test('restarted with the leftover adopted: its deadline starts when armed', async () => {
  const r = rig({ primary: HOSTGW });
  const old = new FakeBackend('vxlan');
  await r.sw.adopt([{ backend: old, config: VXLAN, what: 'device flannel.1' }], OWN);
  r.sw.arm();
  await tick(TIMEOUT_MS);
  assert.equal(old.tornDown, true);
  assert.match(r.sw.lastSwitch()!.outcome, /^timeout \(2 peer\(s\) had not moved\)$/);
});

test('stop: no teardown afterwards, whatever is up stays up', async () => {
  const r = rig();
  await r.sw.apply(HOSTGW, '7');
  r.move(P2, 'host-gw');
  r.move(P3, 'host-gw');
  r.sw.stop();
  await tick(TIMEOUT_MS);
  assert.equal(r.first.tornDown, false);
  assert.deepEqual(r.active.types(), ['host-gw', 'vxlan']);
});
