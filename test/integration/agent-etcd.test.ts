/**
 * etcd/ against a real etcd (no kernel): config create-only and CAS, lease renew that never
 * overwrites another node, reservations, concurrent acquisition, watch after compaction.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Etcd3 } from 'etcd3';
import { createEtcdClient } from '../../src/etcd/client.js';
import { createConfig, readConfig, swapConfig } from '../../src/etcd/config-store.js';
import { LeaseStore, type LeaseListing } from '../../src/etcd/lease-store.js';
import { acquireLease } from '../../src/etcd/acquire.js';
import { parseNetworkConfig } from '../../src/network/config.js';
import { encodeLeaseAttrs } from '../../src/network/lease.js';
import { formatNet, parseCidr } from '../../src/network/ipv4.js';
import { subnetKey } from '../../src/etcd/keys.js';

let etcd: ChildProcess;
let dir: string;
let client: Etcd3;
const prefix = '/fpt-etcd/network';
const quiet = { info: () => undefined, warn: () => undefined };

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

before(async () => {
  dir = mkdtempSync('/tmp/fpt-etcd-');
  const [cp, pp] = [await freePort(), await freePort()];
  etcd = spawn('etcd', ['--name', 'fpt', '--data-dir', `${dir}/data`, '--listen-client-urls', `http://127.0.0.1:${cp}`,
    '--advertise-client-urls', `http://127.0.0.1:${cp}`, '--listen-peer-urls', `http://127.0.0.1:${pp}`,
    '--initial-advertise-peer-urls', `http://127.0.0.1:${pp}`, '--initial-cluster', `fpt=http://127.0.0.1:${pp}`, '--log-level', 'error'], { stdio: 'ignore' });
  client = createEtcdClient({ endpoints: [`http://127.0.0.1:${cp}`] });
  for (let i = 0; ; i++) {
    try {
      await client.get('probe').string();
      break;
    } catch (e) {
      if (i > 100) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
});
after(() => {
  client?.close();
  if (etcd?.pid) process.kill(etcd.pid, 'SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const cfg = parseNetworkConfig({ Network: '10.7.0.0/16', Backend: { Type: 'vxlan' } });
const attrs = (ip: string) => ({ PublicIP: ip, PublicIPv6: null, BackendType: 'vxlan', BackendData: { VNI: 1, VtepMAC: '0e:00:00:00:00:01' } });

test('config: create-only, then compare-and-swap on ModRevision and on value', async () => {
  const text = '{"Network":"10.7.0.0/16","Backend":{"Type":"vxlan"}}';
  const c1 = await createConfig(client, prefix, text);
  assert.equal(c1.created, true);
  const c2 = await createConfig(client, prefix, '{"Network":"10.8.0.0/16"}');
  assert.equal(c2.created, false);
  assert.equal((c2 as { existing: { text: string } }).existing.text, text);
  const cur = (await readConfig(client, prefix))!;
  assert.equal(await swapConfig(client, prefix, '{"Network":"10.7.0.0/16","Backend":{"Type":"host-gw"}}', { modRevision: '1' }), false);
  assert.equal(await swapConfig(client, prefix, '{"Network":"10.7.0.0/16","Backend":{"Type":"host-gw"}}', { modRevision: cur.modRevision }), true);
  assert.equal(await swapConfig(client, prefix, text, { value: text }), false);
  assert.equal(await swapConfig(client, prefix, text, { value: '{"Network":"10.7.0.0/16","Backend":{"Type":"host-gw"}}' }), true);
});

test('renew never overwrites another node\'s lease; a vanished lease is reported gone', async () => {
  const store = new LeaseStore(client, prefix);
  const sn = parseCidr('10.7.5.0/24')!;
  const mine = (await store.create(sn, attrs('192.0.0.1')))!;
  assert.ok(mine);
  assert.equal(await store.create(sn, attrs('192.0.0.2')), undefined, 'create-only');
  // another node takes the key (e.g. after our lease expired during a partition)
  await client.put(subnetKey(prefix, sn)).value(encodeLeaseAttrs(attrs('192.0.0.2')));
  const r = await store.renew(mine);
  assert.equal(r.kind, 'taken');
  assert.match((await client.get(subnetKey(prefix, sn)).string())!, /"PublicIP":"192\.0\.0\.2"/);
  await client.delete().key(subnetKey(prefix, sn));
  assert.equal((await store.renew(mine)).kind, 'gone');
  // a normal renewal gets a fresh etcd lease and revokes the superseded one
  const again = (await store.create(sn, attrs('192.0.0.1')))!;
  const r2 = await store.renew(again);
  assert.equal(r2.kind, 'renewed');
  const l2 = (r2 as { lease: { etcdLeaseId: string } }).lease;
  assert.notEqual(l2.etcdLeaseId, again.etcdLeaseId);
  const ttl = await client.leaseClient.leaseTimeToLive({ ID: again.etcdLeaseId! });
  assert.equal(Number(ttl.TTL), -1, 'old etcd lease revoked');
  const listing = await store.list({ withTtl: true });
  const l = listing.leases.find((x) => formatNet(x.subnet) === '10.7.5.0/24')!;
  assert.ok(l.expiresAt! > Date.now() + 23 * 3600_000);
  await store.delete(sn);
});

test('a reservation (key without etcd lease) is reused as a reservation', async () => {
  const store = new LeaseStore(client, prefix);
  const sn = parseCidr('10.7.77.0/24')!;
  await client.put(subnetKey(prefix, sn)).value(encodeLeaseAttrs({ PublicIP: '192.0.0.77', PublicIPv6: null }));
  const a = await acquireLease(store, { config: cfg, attrs: attrs('192.0.0.77'), log: quiet });
  assert.equal(a.how, 'reused-lease');
  assert.equal(formatNet(a.lease.subnet), '10.7.77.0/24');
  const res = await client.kv.range({ key: Buffer.from(subnetKey(prefix, sn)) });
  assert.equal(res.kvs[0]!.lease, '0', 'still without TTL');
  await store.delete(sn);
});

test('40 concurrent acquisitions get 40 distinct subnets', async () => {
  const stores = Array.from({ length: 40 }, () => new LeaseStore(client, `${prefix}-many`));
  const got = await Promise.all(stores.map((s, i) => acquireLease(s, { config: cfg, attrs: attrs(`192.0.1.${i + 1}`), log: quiet })));
  assert.equal(new Set(got.map((g) => formatNet(g.lease.subnet))).size, 40);
});

test('a watch whose revision was compacted re-lists and continues', async () => {
  const store = new LeaseStore(client, prefix);
  const start = (await store.list()).revision;
  for (let i = 0; i < 3; i++) await store.create(parseCidr(`10.7.${100 + i}.0/24`)!, attrs(`192.0.2.${i}`));
  const head = (await store.list()).revision;
  await client.kv.compact({ revision: head, physical: true });
  const resets: LeaseListing[] = [];
  const w = store.watch(start, { onChanges: () => undefined, onReset: (l) => resets.push(l) });
  try {
    for (let i = 0; i < 100 && resets.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(resets.length, 1);
    assert.ok(resets[0]!.leases.some((l) => formatNet(l.subnet) === '10.7.102.0/24'));
    const seen: string[] = [];
    const w2 = store.watch(resets[0]!.revision, { onChanges: (c) => c.forEach((x) => seen.push(x.type)), onReset: () => undefined });
    await store.delete(parseCidr('10.7.101.0/24')!);
    for (let i = 0; i < 100 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(seen, ['delete']);
    await w2.cancel();
  } finally {
    await w.cancel();
  }
});
