/** The lease follower over a fake store: initial listing, watch batches, own-key changes, re-list and resync. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LeaseFollower, type OwnKeyChange } from '../../../src/agent/lease-follower.js';
import { PeerSet } from '../../../src/agent/peers.js';
import type { LeaseListing, LeaseWatchHandlers } from '../../../src/etcd/lease-store.js';
import { formatNet, parseCidr } from '../../../src/network/ipv4.js';
import type { Lease } from '../../../src/network/types.js';

const L = (sn: string, ip: string): Lease => ({ subnet: parseCidr(sn)!, attrs: { PublicIP: ip, PublicIPv6: null, BackendType: 'host-gw' } });
const OWN = L('10.5.1.0/24', '192.0.0.1');

function rig(listings: (LeaseListing | Error)[]) {
  const lines: string[] = [];
  const log = { info: (m: string) => lines.push(`I ${m}`), warn: (m: string) => lines.push(`W ${m}`), error: (m: string) => lines.push(`E ${m}`), debug: () => undefined };
  const watches: { from: string; h: LeaseWatchHandlers; cancelled: boolean }[] = [];
  const store = {
    list: async () => {
      const l = listings.shift();
      if (!l || l instanceof Error) throw l ?? new Error('no listing');
      return l;
    },
    watch: (from: string, h: LeaseWatchHandlers) => {
      const w = { from, h, cancelled: false };
      watches.push(w);
      return { cancel: async () => void (w.cancelled = true) } as never;
    },
  };
  const peers = new PeerSet();
  peers.setOwnSubnet(OWN.subnet);
  const own: OwnKeyChange[] = [];
  const changed: [boolean, string][] = [];
  const f = new LeaseFollower({
    store, peers, log, own: () => OWN, onOwnKey: (c) => own.push(c), onPeersChanged: (incremental, reason) => changed.push([incremental, reason]),
  });
  return { f, peers, watches, own, changed, lines };
}
const subnets = (p: PeerSet) => p.list().map((l) => formatNet(l.subnet)).sort();

test('the start-up listing fills the peer set (own lease excluded), then the watch feeds it incrementally', async () => {
  const r = rig([new Error('14 UNAVAILABLE'), { leases: [OWN, L('10.5.2.0/24', '192.0.0.2')], revision: '10', skipped: [] }]);
  const listing = await r.f.initial();
  assert.equal(listing?.revision, '10');
  assert.ok(r.lines.includes('W listing leases failed (retrying in 500 ms): 14 UNAVAILABLE'));
  assert.deepEqual(subnets(r.peers), ['10.5.2.0/24']);
  r.f.follow('10');
  assert.equal(r.watches[0]!.from, '10');
  r.watches[0]!.h.onChanges([{ type: 'put', lease: L('10.5.3.0/24', '192.0.0.3') }, { type: 'put', lease: { ...OWN, modRevision: '12' } }], '12');
  assert.deepEqual(subnets(r.peers), ['10.5.2.0/24', '10.5.3.0/24']);
  assert.deepEqual(r.changed, [[true, 'watch']]);
  assert.equal(r.own.length, 1, 'our own key goes to the own-subnet manager');
  assert.ok(r.lines.includes('I Subnet added: 10.5.3.0/24 via 192.0.0.3 (host-gw)'));
  r.watches[0]!.h.onChanges([{ type: 'put', lease: L('10.5.3.0/24', '192.0.0.3') }], '13');
  assert.equal(r.changed.length, 1, 'a renewal with the same attrs is no change');
  r.watches[0]!.h.onChanges([{ type: 'delete', subnet: OWN.subnet }], '14');
  assert.deepEqual(r.own.at(-1), { type: 'delete' });
});

test('resync after an outage: the listing replaces the peer set, a full reconcile follows, the watch restarts from it', async () => {
  const r = rig([{ leases: [OWN, L('10.5.2.0/24', '192.0.0.2')], revision: '10', skipped: [] }, { leases: [L('10.5.3.0/24', '192.0.0.3')], revision: '20', skipped: [] }]);
  await r.f.initial();
  r.f.follow('10');
  await r.f.resync();
  assert.equal(r.watches[0]!.cancelled, true);
  assert.equal(r.watches[1]!.from, '20');
  assert.deepEqual(subnets(r.peers), ['10.5.3.0/24']);
  assert.deepEqual(r.changed, [[false, 'resync']]);
  assert.deepEqual(r.own, [{ type: 'delete' }], 'our lease is missing from the listing: the own-subnet manager checks and re-acquires');
  assert.ok(r.lines.includes('I Subnet removed: 10.5.2.0/24'));
  assert.ok(r.lines.includes('I leases re-listed at revision 20 (1 leases) after etcd answered again'));
});

test('a watch that had to re-list (compaction) replaces the set the same way', async () => {
  const r = rig([{ leases: [OWN], revision: '10', skipped: [] }]);
  await r.f.initial();
  r.f.follow('10');
  r.watches[0]!.h.onReset({ leases: [{ ...OWN, modRevision: '30' }, L('10.5.4.0/24', '192.0.0.4')], revision: '30', skipped: [] });
  assert.deepEqual(subnets(r.peers), ['10.5.4.0/24']);
  assert.equal(r.own[0]!.type, 'put', 'our lease is still there: its revision is passed on');
  assert.deepEqual(r.changed, [[false, 'relist']]);
  assert.ok(r.lines.includes('I lease watch re-listed at revision 30 (2 leases)'));
});
