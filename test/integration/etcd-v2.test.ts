/**
 * Integration (issue 9.4): etcd's v2 store, on a real etcd 3.4 on loopback. With --enable-v2, data written
 * by `ETCDCTL_API=2 etcdctl set` is found (config, leases with their TTL) and copied to v3 create-only with
 * the TTL kept, the v2 data untouched; a second copy changes nothing. Without --enable-v2 the v2 look-up
 * answers "none" quickly instead of failing.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEtcdClient } from '../../src/etcd/client.js';
import { readConfig } from '../../src/etcd/config-store.js';
import { LeaseStore } from '../../src/etcd/lease-store.js';
import { readV2Flannel, v2Get } from '../../src/etcd/v2-store.js';
import { copyV2ToV3, describeV2Copy } from '../../src/etcd/v2-copy.js';
import { formatNet } from '../../src/network/ipv4.js';

const PREFIX = '/docker-test/network';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An etcd of our own on 127.0.0.1 (ports of the flanprov test range), gone with its data dir after the test. */
async function startEtcd(port: number, v2: boolean): Promise<{ url: string; stop: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'flanprov-etcdv2-'));
  const url = `http://127.0.0.1:${port}`;
  const peer = `http://127.0.0.1:${port + 1}`;
  const p: ChildProcess = spawn('etcd', ['--name', 'flanprov-v2', '--data-dir', join(dir, 'data'), '--listen-client-urls', url, '--advertise-client-urls', url,
    '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer, '--initial-cluster', `flanprov-v2=${peer}`, ...(v2 ? ['--enable-v2'] : [])], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    try {
      execFileSync('etcdctl', [`--endpoints=${url}`, 'endpoint', 'health'], { stdio: 'ignore', env: { ...process.env, ETCDCTL_API: '3' } });
      break;
    } catch {
      await sleep(100);
    }
  }
  return { url, stop: () => { p.kill('SIGTERM'); rmSync(dir, { recursive: true, force: true }); } };
}

const etcdctl2 = (url: string, ...args: string[]) => execFileSync('etcdctl', [`--endpoints=${url}`, ...args], { env: { ...process.env, ETCDCTL_API: '2' } }).toString();

describe('etcd v2 store: found, copied to v3 with TTLs, left alone', { concurrency: false, timeout: 60_000 }, () => {
  let etcd: { url: string; stop: () => void };
  before(async () => {
    etcd = await startEtcd(23_871, true);
  });
  after(() => etcd?.stop());

  it('reads what ETCDCTL_API=2 etcdctl set wrote, copies it create-only to v3 with the remaining TTL, v2 untouched', async () => {
    const config = '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}';
    etcdctl2(etcd.url, 'set', `${PREFIX}/config`, config);
    const lease = (ip: string) => `{"PublicIP":"${ip}","BackendType":"vxlan","BackendData":{"VtepMAC":"aa:bb:cc:dd:ee:01"}}`;
    etcdctl2(etcd.url, 'set', '--ttl', '86400', `${PREFIX}/subnets/10.244.5.0-24`, lease('198.18.0.11'));
    etcdctl2(etcd.url, 'set', '--ttl', '600', `${PREFIX}/subnets/10.244.9.0-24`, lease('198.18.0.12'));
    etcdctl2(etcd.url, 'set', `${PREFIX}/subnets/10.244.77.0-24`, lease('198.18.0.99')); // a reservation: no TTL
    etcdctl2(etcd.url, 'set', `${PREFIX}/subnets/junk`, 'x');

    const eps = [{ url: etcd.url }];
    assert.deepEqual(await v2Get({ url: etcd.url }, '/no/such/key'), { kind: 'missing' });
    const data = await readV2Flannel(eps, PREFIX);
    assert.ok(data);
    assert.equal(data.config, config);
    assert.deepEqual(data.leases.map((l) => [formatNet(l.subnet), l.ttl !== undefined]).sort(), [['10.244.5.0/24', true], ['10.244.77.0/24', false], ['10.244.9.0/24', true]]);
    assert.deepEqual(data.skipped, [`${PREFIX}/subnets/junk`]);
    assert.equal(await readV2Flannel(eps, '/other/prefix'), undefined);

    const client = createEtcdClient({ endpoints: [etcd.url] });
    try {
      assert.equal(await readConfig(client, PREFIX), undefined, 'v3 sees nothing of v2');
      const r = await copyV2ToV3(client, PREFIX, data);
      assert.equal(r.config.result, 'copied');
      assert.deepEqual(r.leases.map((l) => [formatNet(l.subnet), l.publicIp, l.result]), [
        ['10.244.5.0/24', '198.18.0.11', 'copied'], ['10.244.9.0/24', '198.18.0.12', 'copied'], ['10.244.77.0/24', '198.18.0.99', 'copied']]);
      assert.equal((await readConfig(client, PREFIX))?.text, config);
      const v3 = await new LeaseStore(client, PREFIX).list({ withTtl: true });
      const left = (sn: string) => {
        const l = v3.leases.find((x) => formatNet(x.subnet) === sn)!;
        return l.expiresAt === undefined ? undefined : Math.round((l.expiresAt - Date.now()) / 1000);
      };
      assert.ok(left('10.244.5.0/24')! > 86_300 && left('10.244.5.0/24')! <= 86_400, `TTL kept: ${left('10.244.5.0/24')}`);
      assert.ok(left('10.244.9.0/24')! > 500 && left('10.244.9.0/24')! <= 600, `TTL kept: ${left('10.244.9.0/24')}`);
      assert.equal(v3.leases.find((x) => formatNet(x.subnet) === '10.244.77.0/24')?.etcdLeaseId, '0', 'a reservation stays without a TTL');
      assert.equal(v3.leases.find((x) => formatNet(x.subnet) === '10.244.5.0/24')?.attrs.PublicIP, '198.18.0.11');

      // create-only: a second copy (or a key an agent renewed meanwhile) is left alone
      const again = await copyV2ToV3(client, PREFIX, data);
      assert.equal(again.config.result, 'exists');
      assert.deepEqual(again.leases.map((l) => l.result), ['exists', 'exists', 'exists']);
      assert.deepEqual(describeV2Copy(PREFIX, again).copied, []);
      // v2 untouched
      assert.equal(etcdctl2(etcd.url, 'get', `${PREFIX}/config`).trim(), config);
      assert.match(etcdctl2(etcd.url, 'ls', `${PREFIX}/subnets`), /10\.244\.5\.0-24/);
    } finally {
      client.close();
    }
  });

  it('an etcd without --enable-v2: no v2 data, answered at once', async () => {
    const plain = await startEtcd(23_881, false);
    try {
      const r = await v2Get({ url: plain.url }, `${PREFIX}/config`);
      assert.equal(r.kind, 'no-v2', JSON.stringify(r));
      const t0 = Date.now();
      assert.equal(await readV2Flannel([{ url: plain.url }], PREFIX), undefined);
      assert.ok(Date.now() - t0 < 2500, 'answered, not waited out (the timeout is 3 s)');
      // nobody listening: an error, not a hang (readV2Flannel says "none")
      assert.equal((await v2Get({ url: 'http://127.0.0.1:23899' }, '/x', { timeoutMs: 500 })).kind, 'error');
    } finally {
      plain.stop();
    }
  });
});
