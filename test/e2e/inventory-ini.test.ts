/**
 * e2e on the lab: `flanprov up` from (a) an INI inventory with a host range, group_vars/ and host_vars/, and
 * (b) an inventory that names hosts only by alias, with addresses, user, key and ProxyJump coming from an
 * ssh_config file given with -F (root's real ~/.ssh is not touched), where two hosts refuse SSH from this
 * machine (an iptables rule in their network namespaces) so the jumps are really needed, one of them through a
 * chain a jump host's own ProxyJump makes; and host keys from two known_hosts files, one written with accept-new
 * under a HostKeyAlias, hashed; (c) switch-backend --update-inventory on the INI inventory of (a) edits
 * flannel_backend where it is written (its group_vars/), and the next `up` agrees with etcd.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostMatches } from '../../src/remote/known-hosts.js';
import { flanprov, jsonEvents, Lab, LABS, sh } from './up-helpers.js';

describe('inventories as Ansible users have them', { timeout: 600_000 }, () => {
  let lab: Lab;
  before(async () => { lab = await Lab.up('ini'); });
  after(async () => { await lab?.down(); });

  const ssh = (): { key: string; kh: string } => ({ key: join(LABS, lab.name, 'ssh', 'id_ed25519'), kh: join(LABS, lab.name, 'ssh', 'known_hosts') });

  let iniDir = '';
  it('(a) INI with a range, group_vars/ and host_vars/: up is green', async () => {
    const d = mkdtempSync(join(tmpdir(), 'flanprov-e2e-ini-'));
    iniDir = d;
    const prefix = lab.hosts[0]!.ip.replace(/\.\d+$/, '.');
    const first = Number(lab.hosts[0]!.ip.split('.').pop());
    const last = Number(lab.hosts[lab.hosts.length - 1]!.ip.split('.').pop());
    // hosts named by address range: 198.18.k.[11:13]
    writeFileSync(join(d, 'hosts.ini'), `[nodes]\n${prefix}[${first}:${last}]\n\n[nodes:vars]\nansible_user=root\n`);
    mkdirSync(join(d, 'group_vars', 'all'), { recursive: true });
    mkdirSync(join(d, 'host_vars'));
    writeFileSync(join(d, 'group_vars', 'all', 'flannel.yml'), `flannel_network: 10.244.0.0/16\nflannel_backend: vxlan\nflannel_etcd_endpoints: ${lab.etcdEndpoint()}\n`);
    writeFileSync(join(d, 'group_vars', 'nodes.yml'), `ansible_ssh_private_key_file: ${ssh().key}\nansible_ssh_common_args: "-o UserKnownHostsFile=${ssh().kh}"\n`);
    writeFileSync(join(d, 'host_vars', `${lab.hosts[1]!.ip}.yml`), 'flannel_healthz_port: "{{ my_port }}"\nmy_port: 8471\n');
    const r = await flanprov('up', '-i', join(d, 'hosts.ini'), '--output', 'json');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const summary = jsonEvents(r.stdout).find((e) => e.event === 'summary')!;
    assert.deepEqual(summary.hosts.map((h: { host: string }) => h.host).sort(), lab.hosts.map((h) => h.ip).sort());
  });

  it('(b) ssh_config via -F: aliases, HostName, User, IdentityFile; h2 and h3 reachable ONLY through jump hosts (h3 through jump2, whose own ProxyJump is followed); several known_hosts files, HostKeyAlias, HashKnownHosts', async () => {
    const d = mkdtempSync(join(tmpdir(), 'flanprov-e2e-sshcfg-'));
    const [h1, h2, h3] = lab.hosts as [{ name: string; ip: string }, { name: string; ip: string }, { name: string; ip: string }];
    const status = JSON.parse((await flanprov('lab', 'status', '--name', lab.name, '--output', 'json')).stdout) as { rootVeth: string };
    const controller = status.rootVeth.split(' ')[1]!;
    // SSH from this machine to h2 and h3 is refused in their own network namespaces; from h1 and h2 it is not
    const rule = (op: '-I' | '-D', h: { name: string }) => sh('ip', ['netns', 'exec', `fpl-${lab.name}-${h.name}`, 'iptables', '-w', op, 'INPUT', '-p', 'tcp', '--dport', '22',
      '-s', controller, '-j', 'REJECT', '--reject-with', 'tcp-reset']);
    const newKh = join(d, 'known_hosts.new');
    const labKhBefore = readFileSync(ssh().kh, 'utf8');
    const since = Math.floor(Date.now() / 1000);
    let r: Awaited<ReturnType<typeof flanprov>>;
    let unblocked = 0;
    try {
      for (const h of [h2, h3]) assert.equal((await rule('-I', h)).code, 0);
      const direct = await sh('ssh', ['-i', ssh().key, '-o', `UserKnownHostsFile=${ssh().kh}`, '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', `root@${h3.ip}`, 'true']);
      assert.equal(direct.code, 255, 'h3 is not reachable directly');
      assert.match(direct.stderr, /Connection refused/);
      const cfg = [
        `Host jump`, `  HostName ${h1.ip}`,
        `Host jump2`, `  HostName ${h2.ip}`, `  ProxyJump jump`,
        // h1 direct, its key recorded under an alias (in no known_hosts file yet): accept-new writes it, hashed, to the first file
        `Host alias-${h1.name}`, `  HostName ${h1.ip}`, `  HostKeyAlias fp-alias-${h1.name}`, `  StrictHostKeyChecking accept-new`, `  HashKnownHosts yes`,
        `Host alias-${h2.name}`, `  HostName ${h2.ip}`, `  ProxyJump jump`,
        `Host alias-${h3.name}`, `  HostName ${h3.ip}`, `  ProxyJump jump2`,
        // every host key is found in the second file (the lab's); the first one starts empty
        `Host *`, `  User root`, `  IdentityFile ${ssh().key}`, `  IdentitiesOnly yes`, `  UserKnownHostsFile ${newKh} ${ssh().kh}`, `  StrictHostKeyChecking yes`,
      ].join('\n') + '\n';
      writeFileSync(join(d, 'ssh_config'), cfg);
      writeFileSync(join(d, 'inventory.ini'), `[nodes]\n${lab.hosts.map((h) => `alias-${h.name}`).join('\n')}\n\n[all:vars]\nflannel_network=10.244.0.0/16\nflannel_etcd_endpoints=${lab.etcdEndpoint()}\n`);
      r = await flanprov('up', '-i', join(d, 'inventory.ini'), '-F', join(d, 'ssh_config'), '-v');
      assert.equal(r.code, 0, r.stdout + r.stderr);
    } finally {
      unblocked = Date.now();
      for (const h of [h2, h3]) await rule('-D', h);
    }
    // alias-* resolve nowhere but in the config: green means HostName, User and the key came from it. The hops, in order:
    const hops = (alias: string) => [...(r.stdout + r.stderr).matchAll(new RegExp(`${alias}(?: \\(jump host ([^)]+)\\))?: connected to (\\S+)`, 'g'))].map((m) => m[2]);
    assert.deepEqual(hops(`alias-${h3.name}`), [`root@${h1.ip}`, `root@${h2.ip}`, `root@${h3.ip}`]);
    assert.deepEqual(hops(`alias-${h2.name}`), [`root@${h1.ip}`, `root@${h2.ip}`]);
    assert.deepEqual(hops(`alias-${h1.name}`), [`root@${h1.ip}`]);
    // and the hosts saw it so: h3's logins came from h2, h2's from h1, none from this machine while it was blocked
    const logins = async (h: { name: string }) => {
      const out = (await lab.ssh(h.name, `journalctl -b --since @${since} -u ssh -o short-unix --no-pager`)).stdout;
      const seen = out.split('\n').filter((l) => Number(l.split(' ')[0]) * 1000 < unblocked).map((l) => /Accepted publickey for root from [0-9.]+/.exec(l)?.[0]).filter(Boolean);
      return [...new Set(seen)];
    };
    assert.deepEqual(await logins(h3), [`Accepted publickey for root from ${h2.ip}`]);
    assert.deepEqual(await logins(h2), [`Accepted publickey for root from ${h1.ip}`]);
    // known_hosts: the lab's file is untouched; the first file got h1's key under its alias, hashed, and nothing else
    assert.equal(readFileSync(ssh().kh, 'utf8'), labKhBefore);
    const added = readFileSync(newKh, 'utf8').trim().split('\n');
    assert.equal(added.length, 1, added.join('\n'));
    const [field, type, key] = added[0]!.split(' ');
    assert.match(field!, /^\|1\|/);
    assert.ok(hostMatches(field!, `fp-alias-${h1.name}`, 22), 'hashed under the alias');
    assert.ok(labKhBefore.includes(`${h1.ip} ${type} ${key}`), "it is h1's real key");
  });

  it('(c) switch-backend --update-inventory on the INI inventory: the value is changed where it is written (group_vars/all/flannel.yml), a following up agrees', async () => {
    assert.ok(iniDir, 'needs (a)');
    const vars = join(iniDir, 'group_vars', 'all', 'flannel.yml');
    const ini = readFileSync(join(iniDir, 'hosts.ini'), 'utf8');
    const before = readFileSync(vars, 'utf8');
    const r = await flanprov('switch-backend', 'host-gw', '-i', join(iniDir, 'hosts.ini'), '--update-inventory', '--timeout', '60s');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /flannel_backend set to host-gw in .*group_vars\/all\/flannel\.yml \(line 2\)/);
    assert.equal(readFileSync(vars, 'utf8'), before.replace('flannel_backend: vxlan', 'flannel_backend: host-gw'));
    assert.equal(readFileSync(join(iniDir, 'hosts.ini'), 'utf8'), ini, 'hosts.ini does not write it: unchanged');
    const up = await flanprov('up', '-i', join(iniDir, 'hosts.ini'), '--output', 'json');
    assert.equal(up.code, 0, up.stdout + up.stderr);
    const summary = jsonEvents(up.stdout).find((e) => e.event === 'summary')!;
    assert.deepEqual([...new Set(summary.hosts.map((h: { status: string }) => h.status))], ['ok'], 'nothing to change: the inventory agrees with etcd');
  });
});
