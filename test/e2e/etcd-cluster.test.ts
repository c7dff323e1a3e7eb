/**
 * e2e: flanprov runs the etcd cluster itself, on a 3-host `lab up --no-etcd` (its inventory has an `etcd`
 * group and no flannel_etcd_endpoints; real etcd 3.4 pushed from the controller, real systemd, sshd, Docker):
 * from nothing one `up` gives 3 healthy TLS members, agents on them with their own client certificates and
 * a green ping matrix; a second `up` writes nothing and restarts nothing; with one member stopped the
 * network keeps working, agents keep renewing, `check` names the member and `up` brings it back; refusals
 * (removing a member that would cost the quorum, mixed etcd versions) exit 2 and change nothing; `down`
 * leaves etcd alone, `down --etcd` keeps its data (the next `up` starts the same cluster), `--purge` deletes it.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pkiLayout } from '../../src/etcd/pki-store.js';
import { createEtcdClient } from '../../src/etcd/client.js';
import { LeaseStore } from '../../src/etcd/lease-store.js';
import { scriptSource } from '../../src/remote/script-sources.js';
import { shq } from '../../src/remote/command.js';
import { AGENT_STATUS_PORT } from '../../src/network/agent-status.js';
import { Lab, flanprov, jsonEvents, parseUnitState, sh } from './up-helpers.js';
import { ALL_UNITS_STATE, endpointsOf, etcdctl, pkiDirOf, writeManaged } from './etcd-helpers.js';

/** GET /status from the agent, as the remote scripts do it (lib.sh's fp_agent_status). */
const agentStatus = `bash -c ${shq(`${scriptSource('lib')}\nfp_agent_status ${AGENT_STATUS_PORT}`)}`;

const MEMBERS = ['h1', 'h2', 'h3'];

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? [join(dir, e.name), ...walk(join(dir, e.name))] : [join(dir, e.name)]));
}

describe('flanprov runs the etcd cluster (3-host lab up --no-etcd: etcd group, no endpoints)', { timeout: 420_000 }, () => {
  let lab: Lab;
  let inv: string;
  const unitStates = async (): Promise<Map<string, Record<string, string>>> =>
    new Map([...(await lab.sshAll(ALL_UNITS_STATE))].map(([h, o]) => [h, parseUnitState(o.stdout)]));

  before(async () => {
    lab = await Lab.up('etcd', ['--no-etcd']);
    inv = lab.inventory; // from bare hosts: the inventory `lab up --no-etcd` wrote (etcd group h1-h3)
  });
  after(async () => { await lab?.down(); });

  it('from nothing: 3 healthy TLS members, agents with their own client certificates, ping matrix green', async () => {
    const r = await flanprov('up', inv, '--output', 'json');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    console.log(`up from nothing with etcd: ${r.ms} ms (process included)`);
    const events = jsonEvents(r.stdout);
    const m = events.find((e) => e.event === 'verify.matrix')!;
    m.cells.forEach((row: any[], i: number) => row.forEach((c, j) => (i === j ? assert.equal(c, null) : assert.ok(c.ok && c.mtuOk, `${i}->${j}`))));
    assert.ok(events.some((e) => e.event === 'log' && /^etcd 3\.4\.\d+ on h1, h2, h3 \(pushed from \/usr\/bin\/etcd\)$/.test(e.message)), 'version printed');

    const health = await etcdctl(lab, MEMBERS, ['endpoint', 'health']);
    assert.equal(health.code, 0, health.stdout + health.stderr);
    assert.equal((health.stdout + health.stderr).match(/is healthy/g)?.length, 3, health.stdout + health.stderr);
    const list = JSON.parse((await etcdctl(lab, MEMBERS, ['member', 'list', '-w', 'json'])).stdout) as { members: { name: string; peerURLs: string[] }[] };
    assert.deepEqual(list.members.map((x) => x.name).sort(), MEMBERS);
    for (const x of list.members) assert.match(x.peerURLs[0]!, /^https:\/\/198\.18\.\d+\.\d+:2380$/);
    // TLS only, client certificates required
    const l = pkiLayout(pkiDirOf(lab));
    const noCert = await sh('etcdctl', [`--endpoints=${endpointsOf(lab, ['h1'])}`, `--cacert=${l.ca.cert}`, '--dial-timeout=1s', '--command-timeout=2s', 'get', 'x'], 20_000);
    assert.notEqual(noCert.code, 0, 'a client without a certificate was served');
    const plain = await sh('etcdctl', [`--endpoints=${endpointsOf(lab, ['h1']).replace('https:', 'http:')}`, '--dial-timeout=1s', '--command-timeout=2s', 'get', 'x'], 20_000);
    assert.notEqual(plain.code, 0, 'plain http was served');

    // every agent: its own client certificate (0600), https endpoints, a lease in etcd
    for (const [h, o] of await lab.sshAll('systemctl is-active etcd flanneld; stat -c "%a %U" /etc/flannel/etcd-key.pem /etc/etcd/pki/server-key.pem /etc/etcd/pki/peer-key.pem /etc/etcd/pki; cat /etc/flannel/etcd-cert.pem; systemctl show -p ExecStart --value flanneld')) {
      const lines = o.stdout.split('\n');
      assert.deepEqual(lines.slice(0, 6), ['active', 'active', '600 root', '600 etcd', '600 etcd', '700 etcd'], `${h}: ${o.stdout}`);
      const pem = o.stdout.slice(o.stdout.indexOf('-----BEGIN'), o.stdout.indexOf('-----END CERTIFICATE-----') + 25);
      assert.match(new X509Certificate(pem).subject, new RegExp(`CN=flanneld-${h}`));
      assert.match(o.stdout, /-etcd-endpoints=https:\/\/198\.18\.\d+\.11:2379,https:\/\/198\.18\.\d+\.12:2379,https:\/\/198\.18\.\d+\.13:2379/);
    }
    const leases = await etcdctl(lab, MEMBERS, ['get', '--prefix', '--keys-only', '/coreos.com/network/subnets']);
    assert.equal(leases.stdout.trim().split('\n').filter(Boolean).length, 3, leases.stdout);

    // the controller's PKI dir: 0700 dirs, 0600 files; the CA key is on no host
    for (const p of [l.dir, ...walk(l.dir)]) assert.equal(statSync(p).mode & 0o777, statSync(p).isDirectory() ? 0o700 : 0o600, p);
    const caKeyLine = readFileSync(l.ca.key, 'utf8').split('\n')[1]!;
    for (const [h, o] of await lab.sshAll(`grep -rlF -- ${JSON.stringify(caKeyLine)} /etc /var/lib /usr/local /root /tmp 2>/dev/null; echo done`)) assert.equal(o.stdout.trim(), 'done', `${h}: the CA key is on the host`);
  });

  it('a second up: no file written, nothing restarted (etcd, flanneld, docker), "no change"', async () => {
    const before = await unitStates();
    const r = await flanprov('up', inv, '--output', 'json');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    console.log(`no-change up with etcd: ${r.ms} ms (process included)`);
    const events = jsonEvents(r.stdout);
    assert.deepEqual(events.filter((e) => e.event === 'host.change'), []);
    assert.ok(events.some((e) => e.event === 'log' && /no change/.test(e.message)));
    assert.deepEqual(events.at(-1)!.hosts.map((h: any) => [h.host, h.status]), MEMBERS.map((h) => [h, 'ok']));
    assert.deepEqual(await unitStates(), before);
  });

  it('one member stopped: the network keeps working, agents renew through the others, check names it, up brings it back', async () => {
    await lab.ssh('h3', 'systemctl stop etcd');
    /** seconds left on the etcd lease of `host`'s subnet (etcd3 keeps the int64 lease ID exact; JSON numbers would not) */
    const leaseTtl = async (host: string): Promise<number> => {
      const ip = lab.hosts.find((h) => h.name === host)!.ip;
      const l = pkiLayout(pkiDirOf(lab));
      const c = createEtcdClient({ endpoints: endpointsOf(lab, ['h1', 'h2']).split(','), caFile: l.ca.cert, certFile: l.controller.cert, keyFile: l.controller.key });
      try {
        const { leases } = await new LeaseStore(c, '/coreos.com/network').list({ withTtl: true });
        const mine = leases.find((x) => x.attrs.PublicIP === ip)!;
        return (mine.expiresAt! - Date.now()) / 1000;
      } finally { c.close(); }
    };
    try {
      const c = await flanprov('check', '-i', inv, '--output', 'json');
      assert.equal(c.code, 5, c.stdout + c.stderr);
      const ev = jsonEvents(c.stdout);
      const m = ev.find((e) => e.event === 'verify.matrix')!;
      m.cells.forEach((row: any[], i: number) => row.forEach((x, j) => (i === j ? assert.equal(x, null) : assert.ok(x.ok, `${i}->${j} with h3's member down`))));
      const err = ev.find((e) => e.event === 'error')!;
      assert.match(err.message, /etcd member h3 \(https:\/\/[\d.]+:2379\): UNHEALTHY: etcd\.service is inactive/);
      assert.match(err.message, /quorum kept: 2 of 3 members healthy \(quorum 2\)/);
      // agents renew their leases through the members left (h3's own agent too)
      const before = await leaseTtl('h3');
      for (const [h, o] of await lab.sshAll('systemctl restart flanneld && systemctl is-active flanneld')) assert.equal(o.stdout.trim(), 'active', `${h}: ${o.stdout}${o.stderr}`);
      assert.ok(await leaseTtl('h3') > before, 'h3\'s lease was renewed');
      for (const [h, o] of await lab.sshAll(agentStatus)) assert.equal(JSON.parse(o.stdout).etcd.connected, true, `${h}: ${o.stdout}`);
    } finally {
      const r = await flanprov('up', inv);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /h3: etcd started/);
    }
    const health = await etcdctl(lab, MEMBERS, ['endpoint', 'health']);
    assert.equal((health.stdout + health.stderr).match(/is healthy/g)?.length, 3, health.stdout + health.stderr);
    const c = await flanprov('check', '-i', inv);
    assert.equal(c.code, 0, c.stdout + c.stderr);
  });

  it('refusals (exit 2, nothing changed): a member removal that would cost the quorum, without --yes, mixed etcd versions', async () => {
    // the quorum: h2's member is down, removing h3 would leave h1 alone of 2
    await lab.ssh('h2', 'systemctl stop etcd');
    try {
      const before = await unitStates();
      const shrunk = writeManaged(lab, ['h1', 'h2']);
      const noYes = await flanprov('up', shrunk, '--output', 'json');
      assert.equal(noYes.code, 2, noYes.stdout + noYes.stderr);
      assert.match(noYes.stdout, /h3 \(https:\/\/[\d.]+:2380\) is a member of the etcd cluster but not in the etcd group: removing it needs `--yes`/);
      const r = await flanprov('up', shrunk, '--yes', '--output', 'json');
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stdout, /removing h3 would leave 1 healthy member\(s\) of 2, below its quorum of 2: etcd would stop serving \(not healthy now: h2\)/);
      for (const out of [noYes, r]) assert.deepEqual(jsonEvents(out.stdout).filter((e) => e.event === 'host.change'), []);
      assert.deepEqual(await unitStates(), before, 'nothing restarted (h2 stays stopped: nothing changes on a refusal)');
      assert.equal((await etcdctl(lab, ['h1', 'h3'], ['member', 'list'])).stdout.trim().split('\n').length, 3);
    } finally {
      const r = await flanprov('up', inv);
      assert.equal(r.code, 0, r.stdout + r.stderr);
    }
    // mixed versions: h3 would get another etcd than h1 and h2
    const fake = join(pkiDirOf(lab), '..', 'etcd-3.5.9');
    writeFileSync(fake, '#!/bin/sh\necho "etcd Version: 3.5.9"\necho "Git SHA: e2e"\n');
    chmodSync(fake, 0o755);
    const mixed = writeManaged(lab, MEMBERS, { edit: (i) => { i.all.children.nodes.hosts.h3.flannel_etcd_binary = fake; } });
    const before = await unitStates();
    const r = await flanprov('up', mixed, '--output', 'json');
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /the etcd members would run different etcd versions: h1 3\.4\.\d+ \(pushed from \/usr\/bin\/etcd\), h2 3\.4\.\d+ \(pushed from \/usr\/bin\/etcd\), h3 3\.5\.9 \(pushed from [^)]*etcd-3\.5\.9\)/);
    assert.deepEqual(jsonEvents(r.stdout).filter((e) => e.event === 'host.change'), []);
    assert.deepEqual(await unitStates(), before);
    const v = await lab.ssh('h3', '/usr/local/bin/etcd --version | head -1');
    assert.match(v.stdout, /3\.4\./);
  });

  it('down leaves etcd alone; down --etcd keeps its data (up starts the same cluster again); --purge deletes it and forgets the cluster', async () => {
    const id = JSON.parse(readFileSync(pkiLayout(pkiDirOf(lab)).record, 'utf8')).clusterId as string;
    const d = await flanprov('down', '--yes', '-i', inv);
    assert.equal(d.code, 0, d.stdout + d.stderr);
    for (const [h, o] of await lab.sshAll('systemctl is-active etcd; systemctl is-active flanneld || true')) assert.deepEqual(o.stdout.trim().split('\n'), ['active', 'inactive'], h);
    const de = await flanprov('down', '--yes', '--etcd', '-i', inv);
    assert.equal(de.code, 0, de.stdout + de.stderr);
    for (const [h, o] of await lab.sshAll('systemctl is-active etcd || true; ls /var/lib/etcd/flanprov; ls /etc/etcd/pki /etc/systemd/system/etcd.service /usr/local/bin/etcd 2>&1 | grep -c "No such"')) {
      assert.deepEqual(o.stdout.trim().split('\n'), ['inactive', 'member', '3'], `${h}: ${o.stdout}`);
    }
    const up = await flanprov('up', inv);
    assert.equal(up.code, 0, up.stdout + up.stderr);
    assert.match(up.stdout, /etcd plan: start h1 \(it has its data\); start h2 \(it has its data\); start h3 \(it has its data\)/);
    assert.equal(JSON.parse(readFileSync(pkiLayout(pkiDirOf(lab)).record, 'utf8')).clusterId, id, 'the same cluster');
    const purge = await flanprov('down', '--yes', '--etcd', '--purge', '-i', inv);
    assert.equal(purge.code, 0, purge.stdout + purge.stderr);
    for (const [h, o] of await lab.sshAll('ls -d /var/lib/etcd/flanprov* 2>/dev/null | wc -l')) assert.equal(o.stdout.trim(), '0', h);
    assert.equal(existsSync(pkiLayout(pkiDirOf(lab)).record), false);
    assert.equal(existsSync(pkiLayout(pkiDirOf(lab)).ca.key), true, 'the CA is kept');
  });
});
