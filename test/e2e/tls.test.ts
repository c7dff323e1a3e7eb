/**
 * e2e: `flanprov up` against a lab etcd that requires client certificates (`lab up --etcd-tls`):
 * `up --dry-run` on the fresh lab changes nothing and says what would change; `up` puts the inventory's
 * CA/cert/key on every host (0600, root) where the unit's flags point, the agent talks TLS (its lease is in
 * etcd, no insecure-connection line in its journal), the config was seeded over TLS, a second `up` is a
 * no-change run. Then etcd auth on the same etcd: a user with a password (from the environment), `up` green,
 * the password in no unit file, process command line or journal, only in the 0600 env file.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createEtcdClient } from '../../src/etcd/client.js';
import { configKey, subnetsPrefix } from '../../src/etcd/keys.js';
import { DEFAULT_ETCD_PREFIX } from '../../src/etcd/client.js';
import { RemotePaths } from '../../src/inventory/types.js';
import { Lab, LABS, flanprov, sh, jsonEvents, UNIT_STATE, parseUnitState } from './up-helpers.js';

const REMOTE_TLS = [RemotePaths.etcdCa, RemotePaths.etcdCert, RemotePaths.etcdKey];

describe('flanprov up with etcd TLS (3-host l2 lab, --etcd-tls)', { timeout: 240_000 }, () => {
  let lab: Lab;
  let tls: { caFile: string; certFile: string; keyFile: string };
  const etcdctl = (args: string[], user?: string): ReturnType<typeof sh> => sh('etcdctl', [
    `--endpoints=${lab.etcdEndpoint()}`, `--cacert=${tls.caFile}`, `--cert=${tls.certFile}`, `--key=${tls.keyFile}`,
    '--dial-timeout=2s', '--command-timeout=5s', ...(user ? [`--user=${user}`] : []), ...args,
  ], 20_000);
  /** the controller's own etcd client with the lab's client certificate */
  const withEtcd = async <T>(fn: (c: ReturnType<typeof createEtcdClient>) => Promise<T>, auth?: { username: string; password: string }): Promise<T> => {
    const c = createEtcdClient({ endpoints: [lab.etcdEndpoint()], ...tls, ...(auth ?? {}) });
    try { return await fn(c); } finally { c.close(); }
  };

  before(async () => {
    lab = await Lab.up('e4tls', ['--etcd-tls']);
    const dir = join(LABS, lab.name, 'tls');
    tls = { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'etcd-client.pem'), keyFile: join(dir, 'etcd-client-key.pem') };
  });
  after(async () => { await lab?.down(); });

  it('the lab etcd speaks TLS only and wants a client certificate', async () => {
    assert.match(lab.etcdEndpoint(), /^https:\/\//);
    const noCert = await sh('etcdctl', [`--endpoints=${lab.etcdEndpoint()}`, `--cacert=${tls.caFile}`, '--dial-timeout=1s', '--command-timeout=2s', 'get', 'x'], 20_000);
    assert.notEqual(noCert.code, 0, 'etcd accepted a client without a certificate');
    const plain = await sh('etcdctl', [`--endpoints=${lab.etcdEndpoint().replace('https:', 'http:')}`, '--dial-timeout=1s', '--command-timeout=2s', 'get', 'x'], 20_000);
    assert.notEqual(plain.code, 0, 'etcd answered plain http');
    const ok = await etcdctl(['endpoint', 'health']);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  });

  it('up --dry-run on the fresh lab: says what would change, changes nothing on any host or in etcd', async () => {
    const r = await flanprov('up', lab.inventory, '--dry-run', '--output', 'json');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const events = jsonEvents(r.stdout);
    const changes = events.filter((e) => e.event === 'host.change').map((e) => `${e.host}: ${e.change}`);
    const logs = events.filter((e) => e.event === 'log').map((e) => String(e.message));
    for (const h of lab.hosts) {
      const mine = changes.filter((c) => c.startsWith(`${h.name}: `)).join('\n');
      // the default source (auto) copies between hosts when several need the agent
      assert.match(mine, /would get the agent from the controller or a peer host/, `${h.name}: ${mine}`);
      for (const p of [RemotePaths.flanneldUnit, ...REMOTE_TLS]) assert.ok(mine.includes(p), `${h.name}: ${p} not named in ${mine}`);
    }
    assert.ok(logs.some((l) => l.startsWith(`would write ${configKey(DEFAULT_ETCD_PREFIX)}`)), logs.join('\n'));
    assert.ok(logs.some((l) => /would be written, agent would be pushed to 3 host/.test(l)), logs.join('\n'));
    for (const [h, o] of await lab.sshAll('for f in /etc/systemd/system/flanneld.service /usr/local/bin/flanneld /etc/flannel; do test -e $f && echo "$f present"; done; systemctl is-active flanneld; true')) {
      assert.doesNotMatch(o.stdout, /present/, `${h}: ${o.stdout}`);
      assert.doesNotMatch(o.stdout, /^active$/m, `${h}: ${o.stdout}`);
    }
    const kvs = await withEtcd((c) => c.getAll().prefix(DEFAULT_ETCD_PREFIX).keys());
    assert.deepEqual(kvs, [], 'nothing under the prefix in etcd');
  });

  it('up: green ping matrix; TLS files 0600 root where the unit points; the agent talks TLS; config seeded over TLS', async () => {
    const r = await flanprov('up', lab.inventory, '--output', 'json');
    console.log(`up (TLS) from nothing: ${r.ms} ms`);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.doesNotMatch(r.stderr, /Warning/, r.stderr);
    const events = jsonEvents(r.stdout);
    const m = events.find((e) => e.event === 'verify.matrix')!;
    assert.deepEqual(m.hosts, lab.hosts.map((h) => h.name));
    m.cells.forEach((row: any[], i: number) => row.forEach((c, j) => (i === j ? assert.equal(c, null) : assert.ok(c.ok && c.mtuOk, `${i}->${j}`))));
    const seeded = events.find((e) => e.event === 'log' && String(e.message).startsWith(`wrote ${configKey(DEFAULT_ETCD_PREFIX)} (`));
    assert.ok(seeded, `no config write reported: ${JSON.stringify(events.filter((e) => e.event === 'log'))}`);

    // etcd takes nothing but TLS with a client certificate: the config there was written over TLS.
    const stored = await withEtcd((c) => c.get(configKey(DEFAULT_ETCD_PREFIX)).string());
    assert.ok(stored, 'no config in etcd');
    assert.equal(JSON.parse(stored).Backend?.Type, 'vxlan');

    const local = await Promise.all([tls.caFile, tls.certFile, tls.keyFile].map(async (f) => (await sh('sha256sum', [f])).stdout.split(' ')[0]));
    const leases = await withEtcd((c) => c.getAll().prefix(`${subnetsPrefix(DEFAULT_ETCD_PREFIX)}/`).strings());
    const publicIps = Object.values(leases).map((v) => (JSON.parse(v) as { PublicIP: string }).PublicIP).sort();
    assert.deepEqual(publicIps, lab.hosts.map((h) => h.ip).sort(), `leases: ${JSON.stringify(leases)}`);

    const script = [
      ...REMOTE_TLS.map((f) => `stat -c '%n %a %U' ${f}; sha256sum ${f} | cut -d' ' -f1`),
      'echo "CMD $(systemctl show -p ExecStart --value flanneld)"',
      'echo "ACTIVE $(systemctl is-active flanneld)"',
      'pid=$(systemctl show -p MainPID --value flanneld); echo "PROC $(tr "\\0" " " < /proc/$pid/cmdline)"',
      'journalctl -u flanneld --no-pager -o cat | sed "s/^/LOG /"',
    ].join('; ');
    for (const [h, o] of await lab.sshAll(script)) {
      const lines = o.stdout.split('\n');
      REMOTE_TLS.forEach((f, i) => {
        assert.equal(lines[2 * i], `${f} 600 root`, `${h}: ${o.stdout}${o.stderr}`);
        assert.equal(lines[2 * i + 1], local[i], `${h}: ${f} is the inventory's file`);
      });
      const cmd = lines.find((l) => l.startsWith('CMD '))!;
      const proc = lines.find((l) => l.startsWith('PROC '))!;
      assert.equal(lines.find((l) => l.startsWith('ACTIVE ')), 'ACTIVE active', h);
      for (const [flag, f] of [['-etcd-cafile', RemotePaths.etcdCa], ['-etcd-certfile', RemotePaths.etcdCert], ['-etcd-keyfile', RemotePaths.etcdKey]] as const) {
        assert.ok(cmd.includes(`${flag}=${f}`), `${h}: unit lacks ${flag}=${f}: ${cmd}`);
        assert.ok(proc.includes(`${flag}=${f}`), `${h}: process lacks ${flag}=${f}: ${proc}`);
      }
      assert.ok(proc.includes(`-etcd-endpoints=${lab.etcdEndpoint()}`), proc);
      const log = lines.filter((l) => l.startsWith('LOG ')).join('\n');
      assert.doesNotMatch(log, /insecure/i, `${h}: ${log}`);
      assert.doesNotMatch(log, /DeprecationWarning/, `${h}: ${log}`);
      assert.ok(log.includes(`tls(ca=${RemotePaths.etcdCa} cert=${RemotePaths.etcdCert} key=${RemotePaths.etcdKey})`), `${h}: agent did not log its TLS files: ${log}`);
    }
  });

  it('a second up: no change, no restarts', async () => {
    const before = await lab.sshAll(UNIT_STATE);
    const r = await flanprov('up', lab.inventory, '--output', 'json');
    console.log(`no-change up (TLS): ${r.ms} ms`);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const events = jsonEvents(r.stdout);
    assert.deepEqual(events.filter((e) => e.event === 'host.change' || (e.event === 'log' && /^(wrote|would) /.test(String(e.message)))), []);
    assert.ok(events.some((e) => e.event === 'log' && /no change/.test(e.message)));
    const after = await lab.sshAll(UNIT_STATE);
    for (const h of lab.hosts) assert.deepEqual(parseUnitState(after.get(h.name)!.stdout), parseUnitState(before.get(h.name)!.stdout), h.name);
  });

  it('etcd auth: user + password from the environment; the password only in the 0600 env file', async () => {
    const rootPw = `r${randomBytes(12).toString('hex')}`;
    const password = `fp${randomBytes(12).toString('hex')}`;
    const root = `root:${rootPw}`;
    const setup: string[][] = [
      ['user', 'add', 'root', '--new-user-password', rootPw],
      ['role', 'add', 'flannel'],
      ['role', 'grant-permission', 'flannel', '--prefix=true', 'readwrite', `${DEFAULT_ETCD_PREFIX}/`],
      ['user', 'add', 'flannel', '--new-user-password', password],
      ['user', 'grant-role', 'flannel', 'flannel'],
      ['user', 'grant-role', 'root', 'root'],
      ['auth', 'enable'],
    ];
    for (const a of setup) {
      const o = await etcdctl(a);
      assert.equal(o.code, 0, `etcdctl ${a.slice(0, 2).join(' ')}: ${o.stdout}${o.stderr}`);
    }
    try {
      // The certificate alone (CN=flanprov, no such user) is refused now: only the password gets in.
      const certOnly = await etcdctl(['get', configKey(DEFAULT_ETCD_PREFIX)]);
      assert.notEqual(certOnly.code, 0, `cert-only access still works: ${certOnly.stdout}`);

      const inv = lab.variant((i) => {
        i.all.vars.flannel_etcd_username = 'flannel';
        i.all.vars.flannel_etcd_password = "{{ lookup('env', 'FLANPROV_E2E_ETCD_PW') }}";
      });
      process.env.FLANPROV_E2E_ETCD_PW = password;
      let r;
      try { r = await flanprov('up', inv, '--output', 'json'); } finally { delete process.env.FLANPROV_E2E_ETCD_PW; }
      console.log(`up (TLS + auth): ${r.ms} ms`);
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.ok(!(r.stdout + r.stderr).includes(password), 'flanprov printed the password');
      const events = jsonEvents(r.stdout);
      const changes = events.filter((e) => e.event === 'host.change').map((e) => `${e.host}: ${e.change}`);
      for (const h of lab.hosts) {
        const mine = changes.filter((c) => c.startsWith(`${h.name}: `)).map((c) => c.slice(h.name.length + 2));
        assert.deepEqual(mine.filter((c) => / written$/.test(c)).sort(), [`${RemotePaths.agentEnvFile} written`, `${RemotePaths.flanneldUnit} written`].sort(), mine.join('; '));
        assert.ok(mine.some((c) => /^flanneld restarted/.test(c)), mine.join('; '));
      }
      const m = events.find((e) => e.event === 'verify.matrix')!;
      m.cells.forEach((row: any[], i: number) => row.forEach((c, j) => (i === j ? assert.equal(c, null) : assert.ok(c.ok && c.mtuOk, `${i}->${j}`))));

      const script = [
        `stat -c '%n %a %U' ${RemotePaths.agentEnvFile}`,
        `grep -c FLANNELD_ETCD_PASSWORD ${RemotePaths.agentEnvFile}`,
        'echo "ACTIVE $(systemctl is-active flanneld)"',
        'echo "CMD $(systemctl show -p ExecStart --value flanneld)"',
        'echo "ENVFILE $(systemctl show -p EnvironmentFiles --value flanneld)"',
        'pid=$(systemctl show -p MainPID --value flanneld); echo "PROC $(tr "\\0" " " < /proc/$pid/cmdline)"',
        `grep -rl -F -e '${password}' /etc/systemd /run/systemd/system /lib/systemd/system 2>/dev/null | sed 's/^/UNITHIT /'`,
        `tr '\\0' '\\n' < /proc/$pid/cmdline | grep -c -F -e '${password}' | sed 's/^/CMDHITS /'`,
        `journalctl -u flanneld --no-pager -o cat | grep -c -F -e '${password}' | sed 's/^/LOGHITS /'`,
        `journalctl --no-pager -o cat | grep -c -F -e '${password}' | sed 's/^/ALLLOGHITS /'`,
        'journalctl -u flanneld --no-pager -o cat | grep "Created subnet manager" | tail -1',
      ].join('; ');
      for (const [h, o] of await lab.sshAll(script)) {
        const lines = o.stdout.split('\n');
        assert.equal(lines[0], `${RemotePaths.agentEnvFile} 600 root`, `${h}: ${o.stdout}${o.stderr}`);
        assert.equal(lines[1], '1', `${h}: env file holds the password variable`);
        assert.ok(lines.includes('ACTIVE active'), `${h}: ${o.stdout}`);
        assert.match(lines.find((l) => l.startsWith('CMD '))!, /-etcd-username=flannel/);
        assert.match(lines.find((l) => l.startsWith('PROC '))!, /-etcd-username=flannel/);
        assert.ok(lines.find((l) => l.startsWith('ENVFILE '))!.includes(RemotePaths.agentEnvFile), `${h}: ${o.stdout}`);
        assert.deepEqual(lines.filter((l) => l.startsWith('UNITHIT ')), [], `${h}: password in a unit file`);
        assert.ok(lines.includes('CMDHITS 0'), `${h}: password in flanneld's command line: ${o.stdout}`);
        assert.ok(lines.includes('LOGHITS 0'), `${h}: password in flanneld's journal`);
        assert.ok(lines.includes('ALLLOGHITS 0'), `${h}: password in the journal`);
        assert.match(o.stdout, /user=flannel password=<set>/, `${h}: the agent uses the user and password: ${o.stdout}`);
      }
      // The agents' leases were renewed/written with the password: present for every host.
      const leases = await withEtcd((c) => c.getAll().prefix(`${subnetsPrefix(DEFAULT_ETCD_PREFIX)}/`).strings(), { username: 'flannel', password });
      assert.equal(Object.keys(leases).length, lab.hosts.length, JSON.stringify(leases));
    } finally {
      await etcdctl(['auth', 'disable'], root);
    }
  });
});
