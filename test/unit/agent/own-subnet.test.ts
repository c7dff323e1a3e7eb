/**
 * Own-subnet management over an in-memory lease store (compare-and-swap like etcd's, and an outage
 * switch) with fake timers: acquire, renew, catch up after an outage, re-acquire, subnet change.
 */
import { afterEach, beforeEach, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { OwnSubnet, type OwnSubnetOptions } from '../../../src/agent/own-subnet.js';
import type { LeaseListing, RenewResult } from '../../../src/etcd/lease-store.js';
import { parseNetworkConfig } from '../../../src/network/config.js';
import { formatNet, parseCidr } from '../../../src/network/ipv4.js';
import { makeSubnetKey } from '../../../src/network/lease.js';
import type { Ipv4Net, Lease, LeaseAttrs } from '../../../src/network/types.js';

const DAY = 24 * 3600_000;
const T0 = Date.parse('2026-01-01T00:00:00Z');
beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: T0 }));
afterEach(() => mock.timers.reset());

const flush = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};
async function advance(ms: number, steps = 20): Promise<void> {
  for (let i = 0; i < steps; i++) {
    mock.timers.tick(ms / steps);
    await flush();
  }
}

/** etcd's subnets prefix in memory: every write is a compare-and-swap on ModRevision; `down` makes every call fail. */
class MemStore {
  private rev = 10;
  readonly keys = new Map<string, Lease>();
  down = false;
  calls = 0;
  private check(): void {
    this.calls++;
    if (this.down) throw new Error('4 DEADLINE_EXCEEDED: Deadline exceeded');
  }
  async list(): Promise<LeaseListing> {
    this.check();
    return { leases: [...this.keys.values()], revision: String(this.rev), skipped: [] };
  }
  async get(sn: Ipv4Net): Promise<Lease | undefined> {
    this.check();
    return this.keys.get(makeSubnetKey(sn));
  }
  async putIf(sn: Ipv4Net, attrs: LeaseAttrs, ifModRevision?: string): Promise<Lease | undefined> {
    this.check();
    const cur = this.keys.get(makeSubnetKey(sn));
    if (ifModRevision === undefined ? cur !== undefined : cur?.modRevision !== ifModRevision) return undefined;
    const l: Lease = { subnet: sn, attrs, modRevision: String(++this.rev), etcdLeaseId: String(this.rev), expiresAt: Date.now() + DAY };
    this.keys.set(makeSubnetKey(sn), l);
    return l;
  }
  create(sn: Ipv4Net, attrs: LeaseAttrs): Promise<Lease | undefined> {
    return this.putIf(sn, attrs);
  }
  async delete(sn: Ipv4Net): Promise<boolean> {
    this.check();
    return this.keys.delete(makeSubnetKey(sn));
  }
  async renew(own: Lease, attrs: LeaseAttrs = own.attrs): Promise<RenewResult> {
    const cur = await this.get(own.subnet);
    if (!cur) return { kind: 'gone' };
    if (cur.attrs.PublicIP !== attrs.PublicIP) return { kind: 'taken', holder: cur.attrs };
    const l = await this.putIf(own.subnet, attrs, cur.modRevision);
    return l ? { kind: 'renewed', lease: l } : { kind: 'taken', holder: cur.attrs };
  }
  async revoke(): Promise<void> {}
  /** another node writes a key */
  put(sn: string, ip: string): void {
    this.keys.set(makeSubnetKey(parseCidr(sn)!), { subnet: parseCidr(sn)!, attrs: { PublicIP: ip, PublicIPv6: null }, modRevision: String(++this.rev) });
  }
}

const CONFIG = parseNetworkConfig({ Network: '10.5.0.0/16', SubnetMin: '10.5.1.0', SubnetMax: '10.5.3.0', Backend: { Type: 'host-gw' } });
const ATTRS: LeaseAttrs = { PublicIP: '192.0.0.1', PublicIPv6: null, BackendType: 'host-gw' };

function rig(over: Partial<OwnSubnetOptions> = {}) {
  const store = new MemStore();
  const lines: string[] = [];
  const changes: [string, string][] = [];
  const log = { info: (m: string) => lines.push(`I ${m}`), warn: (m: string) => lines.push(`W ${m}`), error: (m: string) => lines.push(`E ${m}`), debug: () => undefined };
  const own = new OwnSubnet({
    store, config: CONFIG, attrs: ATTRS, renewMarginMinutes: 60, log,
    onSubnetChange: async (l, old) => void changes.push([formatNet(old.subnet), formatNet(l.subnet)]),
    ...over,
  });
  return { store, own, lines, changes };
}

test('acquire: the previous subnet when it is free, through an etcd outage', async () => {
  const r = rig({ previousSubnet: parseCidr('10.5.2.0/24')! });
  r.store.down = true;
  const p = r.own.acquire();
  await advance(3000);
  assert.ok(r.lines.some((l) => l.startsWith('W failed to acquire lease (retrying in 1s): 4 DEADLINE_EXCEEDED')));
  assert.match(r.own.lastError!, /DEADLINE_EXCEEDED/);
  r.store.down = false;
  await advance(8000);
  const a = await p;
  assert.equal(formatNet(a.lease.subnet), '10.5.2.0/24');
  assert.equal(a.how, 'reused-previous');
  assert.equal(r.own.lastError, undefined);
});

test('renew before expiry; a renewal during an outage keeps the lease and catches up as soon as etcd answers', async () => {
  const r = rig();
  await r.own.acquire();
  const first = r.own.lease!;
  r.own.startRenewLoop();
  assert.ok(r.lines.includes('I Waiting for 23h0m0s to renew lease'), r.lines.join('\n'));
  r.store.down = true;
  await advance(23 * 3600_000 + 1000, 2);
  assert.ok(r.lines.some((l) => /^W Error renewing lease \(trying again in 15s\): 4 DEADLINE_EXCEEDED/.test(l)));
  assert.equal(r.own.lease, first, 'the lease is kept as it was');
  assert.ok(r.store.keys.has(makeSubnetKey(first.subnet)));
  r.store.down = false;
  r.own.catchUp();
  await flush();
  assert.ok(r.lines.some((l) => l.startsWith('I Lease renewed, new expiration: ')), 'renewed at once, not 15 s later');
  assert.notEqual(r.own.lease!.modRevision, first.modRevision);
  assert.equal(r.own.lastError, undefined);
  const calls = r.store.calls;
  r.own.catchUp();
  await advance(10_000);
  assert.equal(r.store.calls, calls, 'nothing overdue: catchUp does nothing');
});

test('a deleted lease is re-acquired with the same subnet; a taken one moves, and the subnet change is reported', async () => {
  const r = rig();
  await r.own.acquire();
  const sn = formatNet(r.own.lease!.subnet);
  r.store.keys.clear();
  r.own.handleOwnKey({ type: 'delete' });
  await advance(1000);
  assert.ok(r.lines.includes('W Lease has been revoked: re-acquiring a lease (same subnet ' + sn + ' if it is free)'));
  assert.ok(r.lines.includes(`I Re-acquired lease ${sn}`));
  assert.equal(formatNet(r.own.lease!.subnet), sn);
  // another node overwrote our key (e.g. after a partition outlasted the lease)
  r.store.put(sn, '192.0.0.9');
  r.own.handleOwnKey({ type: 'put', lease: r.store.keys.get(makeSubnetKey(parseCidr(sn)!))! });
  await advance(1000);
  assert.notEqual(formatNet(r.own.lease!.subnet), sn);
  assert.deepEqual(r.changes, [[sn, formatNet(r.own.lease!.subnet)]]);
  assert.ok(r.lines.some((l) => l === `E Subnet changed from ${sn} to ${formatNet(r.own.lease!.subnet)}: containers on the old subnet need a restart`));
});

test('out of subnets is not retried', async () => {
  const r = rig();
  for (const sn of ['10.5.1.0/24', '10.5.2.0/24', '10.5.3.0/24']) r.store.put(sn, `192.0.1.${sn.split('.')[2]}`);
  await assert.rejects(r.own.acquire(), /out of subnets/);
});
