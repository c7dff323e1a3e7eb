/**
 * e2e (issue 9.4): a cluster built before flannel 0.18, its config and leases in etcd's v2 store (lab etcd
 * with --enable-v2, written with `ETCDCTL_API=2 etcdctl set`), where a v3 client sees nothing. `up` refuses
 * (exit 2) saying where the config is and what to do, nothing changed; a tutorial-style agent started by
 * hand on h1 waits and says why; `up --adopt --dry-run` lists the copy; `up --adopt` copies config and
 * leases to v3, every host keeps the subnet its v2 lease gave it (same public IP), the v2 data stays, the
 * ping matrix is green; a second `up` changes nothing.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Lab, LABS, ROOT, flanprov, jsonEvents, sh } from './up-helpers.js';
import { loadInventory } from '../../src/inventory/load.js';
import { configText } from '../../src/phases/up/seed-etcd.js';

const PREFIX = '/coreos.com/network';

describe('etcd v2: config and leases only in the v2 store (2-host lab, etcd --enable-v2)', { concurrency: false, timeout: 600_000 }, () => {
  let lab: Lab;
  let inv: string;
  let config: string;
  let ipMasq = false;
  const ep = () => lab.etcdEndpoint();
  const v2 = (...args: string[]) => sh('etcdctl', [`--endpoints=${ep()}`, ...args], 30_000).then((r) => { assert.equal(r.code, 0, r.stderr); return r.stdout; });
  const etcdctl2 = (...args: string[]) => sh('env', ['ETCDCTL_API=2', 'etcdctl', `--endpoints=${ep()}`, ...args], 30_000);
  const v3Keys = async () => (await v2('get', '--prefix', '--keys-only', PREFIX)).split('\n').filter(Boolean);
  /** the subnet each host's v2 lease holds: 10.244.201.0/24, 10.244.202.0/24 */
  const leaseSubnet = (i: number) => `10.244.${201 + i}.0`;

  before(async () => {
    assert.equal(process.getuid?.(), 0, 'the lab e2e tests need root');
    lab = await Lab.up('v2', ['--hosts', '2', '--etcd-v2']);
    inv = lab.variant((i) => {
      for (const [, h] of Object.entries(i.all.children.nodes.hosts as Record<string, Record<string, unknown>>)) h.flannel_iface = h.ansible_host;
    });
    const spec = loadInventory(inv);
    assert.equal(spec.network.network, '10.244.0.0/16', 'the lab network the lease subnets below are in');
    config = configText(spec.networkConfig);
    ipMasq = spec.hosts[0]!.flannel.ipMasq;
    const set = async (...a: string[]) => { const r = await etcdctl2('set', ...a); assert.equal(r.code, 0, r.stderr); };
    await set(`${PREFIX}/config`, config);
    for (const [i, h] of lab.hosts.entries()) {
      await set('--ttl', '86400', `${PREFIX}/subnets/${leaseSubnet(i)}-24`, JSON.stringify({ PublicIP: h.ip, BackendType: spec.network.backend, BackendData: { VtepMAC: `02:00:00:00:00:0${i + 1}` } }));
    }
  });

  after(async () => {
    await lab?.down();
  });

  it('up refuses (exit 2) saying the config is in the v2 store and what to do, nothing changed; a hand-started agent waits and says so too', async () => {
    const r = await flanprov('up', inv, '--output', 'json');
    assert.equal(r.code, 2, r.stdout.slice(-3000) + r.stderr);
    const text = r.stdout + r.stderr;
    assert.match(text, /\/coreos\.com\/network\/config is not in etcd's v3 store, but etcd's v2 API has it/);
    assert.match(text, /flanprov up --adopt. to copy the config and the leases to v3/);
    assert.deepEqual(await v3Keys(), [], 'nothing written to v3');
    for (const [h, o] of await lab.sshAll('test -e /usr/local/bin/flanneld && echo present || echo absent')) assert.equal(o.stdout.trim(), 'absent', h);

    // the agent as a tutorial starts it: waits for the config, and says where it is
    const h1 = lab.hosts[0]!;
    const dir = join(LABS, lab.name, 'ssh');
    await lab.ssh(h1.name, 'mkdir -p /opt/flannel');
    const cp = await sh('scp', ['-q', '-i', join(dir, 'id_ed25519'), '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`, '-o', 'BatchMode=yes', join(ROOT, 'dist', 'flanneld'), `root@${h1.ip}:/opt/flannel/flanneld`]);
    assert.equal(cp.code, 0, cp.stderr);
    const start = await lab.ssh(h1.name, `chmod 755 /opt/flannel/flanneld; cd /; setsid nohup /opt/flannel/flanneld -etcd-endpoints=${ep()} -etcd-prefix=${PREFIX} -iface=${h1.ip} -ip-masq=${ipMasq} </dev/null >/var/log/flanneld-by-hand.log 2>&1 &`);
    assert.equal(start.code, 0, start.stderr);
    let log = '';
    for (let t = 0; t < 50 && !/v2 API has it/.test(log); t++) {
      await new Promise((r) => setTimeout(r, 200));
      log = (await lab.ssh(h1.name, 'cat /var/log/flanneld-by-hand.log')).stdout;
    }
    assert.match(log, /Couldn't fetch network config: \/coreos\.com\/network\/config is not in etcd's v3 store, but etcd's v2 API has it .*2 lease\(s\).*ETCDCTL_API=2/, log);
  });

  it('up --adopt --dry-run lists the copy and changes nothing', async () => {
    const r = await flanprov('up', inv, '--adopt', '--dry-run');
    assert.equal(r.code, 0, r.stdout.slice(-3000) + r.stderr);
    assert.match(r.stdout, /would copy \/coreos\.com\/network\/config and 2 lease\(s\): 10\.244\.201\.0\/24 \(198\.18\.\d+\.\d+, TTL \d+ s\), 10\.244\.202\.0\/24/);
    assert.doesNotMatch(r.stdout, /would write \/coreos\.com\/network\/config/);
    assert.deepEqual(await v3Keys(), []);
  });

  it('up --adopt copies config and leases to v3: same subnets, same public IPs, v2 left alone, ping matrix green; a second up changes nothing', async () => {
    const r = await flanprov('up', inv, '--adopt', '--output', 'json');
    assert.equal(r.code, 0, r.stdout.slice(-4000) + r.stderr);
    const events = jsonEvents(r.stdout);
    const logs = events.filter((e) => e.event === 'log').map((e) => e.message).join('\n');
    assert.match(logs, /copied \/coreos\.com\/network\/config from etcd's v2 store to v3/);
    assert.match(logs, /copied the lease of 10\.244\.201\.0\/24 \(198\.18\.\d+\.\d+\) to v3, TTL \d+ s kept/);
    for (const [i, h] of lab.hosts.entries()) {
      const se = (await lab.ssh(h.name, '. /run/flannel/subnet.env; echo $FLANNEL_SUBNET')).stdout.trim();
      assert.equal(se, `${leaseSubnet(i).replace(/0$/, '1')}/24`, `${h.name} kept the subnet of its v2 lease`);
      const lease = JSON.parse(await v2('get', '--print-value-only', `${PREFIX}/subnets/${leaseSubnet(i)}-24`)) as { PublicIP: string };
      assert.equal(lease.PublicIP, h.ip);
    }
    assert.equal((await v2('get', '--print-value-only', `${PREFIX}/config`)).trim(), config);
    assert.equal((await v3Keys()).length, 3, 'the config and two leases, no other lease');
    const still = await etcdctl2('get', `${PREFIX}/config`);
    assert.equal(still.stdout.trim(), config, 'the v2 data is left alone');
    assert.match((await etcdctl2('ls', `${PREFIX}/subnets`)).stdout, /10\.244\.201\.0-24/);
    assert.ok(events.some((e) => e.event === 'host.result' && e.phase === 'Verify' && e.status === 'ok'), 'ping matrix green');
    assert.match((await lab.ssh(lab.hosts[0]!.name, 'pgrep -f "^/opt/flannel/[f]lanneld" || echo none')).stdout, /^none$/m, 'the hand-started agent was replaced');

    const again = await flanprov('up', inv, '--adopt', '--output', 'json');
    assert.equal(again.code, 0, again.stdout.slice(-3000));
    assert.deepEqual(jsonEvents(again.stdout).filter((e) => e.event === 'host.change').map((e) => `${e.host}: ${e.change}`), [], 'second up: no change');
  });
});
