/**
 * Connection settings from inventory variables + ssh_config, per hop as `ssh -J` resolves them: ProxyJump
 * chains (only the first hop's own ProxyJump is followed), loops refused, each jump host with its own keys and
 * host-key settings, several known_hosts files, HostKeyAlias/HashKnownHosts, and the system ssh_config as a
 * parameter (a fixture here: nothing of this machine's /etc/ssh is read).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadInventoryText, type LoadOptions } from '../../../src/inventory/load.js';
import { InventoryError } from '../../../src/inventory/errors.js';
import type { ConnectionSpec } from '../../../src/inventory/types.js';

const dir = mkdtempSync(join(tmpdir(), 'flanprov-conn-'));
const home = join(dir, 'home');
mkdirSync(join(home, '.ssh'), { recursive: true });
const key = (name: string): string => { const p = join(dir, 'keys', name); mkdirSync(join(dir, 'keys'), { recursive: true }); writeFileSync(p, 'x'); return p; };
const file = (name: string, text: string): string => { const p = join(dir, name); mkdirSync(join(p, '..'), { recursive: true }); writeFileSync(p, text); return p; };

const inventory = (hosts: string[], vars = ''): string => `all:
  vars: { flannel_network: 10.244.0.0/16, flannel_etcd_endpoints: http://e:2379${vars} }
  hosts:
${hosts.map((h) => `    ${h}:`).join('\n')}
`;
const conns = (text: string, opts: LoadOptions): Map<string, ConnectionSpec> =>
  new Map(loadInventoryText(text, join(dir, 'inventory.yml'), { env: {}, home, localUser: 'me', systemSshConfig: null, ...opts }).hosts.map((h) => [h.name, h.connection]));
const hops = (c: ConnectionSpec): string[] => c.proxyJump.map((j) => `${j.user}@${j.host}:${j.port}`);

const k1 = key('j1');
const CHAINS = file('chains.conf', `
Host target
  HostName 10.0.0.3
  ProxyJump j2
Host j2
  HostName 10.0.0.2
  User u2
  ProxyJump j1
  UserKnownHostsFile /kh/j2 /kh/j2b
  GlobalKnownHostsFile /kh/global
  StrictHostKeyChecking accept-new
  HashKnownHosts yes
  ConnectTimeout 4
Host j1
  HostName 10.0.0.1
  User u1
  Port 2201
  IdentityFile ${k1}
  IdentitiesOnly yes
  ProxyJump j0
Host j0
  HostName 10.0.0.100
Host listed
  ProxyJump j0,j2
Host self
  ProxyJump self
Host b1
  ProxyJump b2
Host b2
  ProxyJump b1
`);

test("ProxyJump: a jump host's own ProxyJump is followed (j2 -> j1 -> j0), each hop with its config's HostName, User, Port", () => {
  const c = conns(inventory(['target']), { sshConfigFile: CHAINS }).get('target')!;
  assert.deepEqual(hops(c), ['me@10.0.0.100:22', 'u1@10.0.0.1:2201', 'u2@10.0.0.2:22']);
  assert.equal(c.host, '10.0.0.3');
});

test('ProxyJump a,b: only the first hop\'s own ProxyJump is followed, as ssh -J a,b (b is reached with -J a, which overrides its config)', () => {
  const c = conns(inventory(['listed']), { sshConfigFile: CHAINS }).get('listed')!;
  // j2's own "ProxyJump j1" does not apply: ssh runs `ssh -J j0 -W listed:22 j2`
  assert.deepEqual(hops(c), ['me@10.0.0.100:22', 'u2@10.0.0.2:22']);
});

test('a ProxyJump loop is refused with where it was written and what to write instead', () => {
  for (const [host, path] of [['self', 'self -> self'], ['b1', 'b1 -> b2 -> b1']]) {
    assert.throws(() => conns(inventory([host!]), { sshConfigFile: CHAINS }), (e: unknown) => {
      assert.ok(e instanceof InventoryError);
      assert.match(e.message, new RegExp(`chains\\.conf:\\d+:3: ProxyJump: ProxyJump loop: ${path!.replace(/>/g, '\\>')} .*ProxyJump none`));
      return true;
    });
  }
  // the usual bastion layout: Host * jumps through the bastion, the bastion itself says none
  const ok = file('bastion.conf', 'Host bastion\n  HostName 10.9.9.9\n  ProxyJump none\nHost *\n  ProxyJump bastion\n');
  assert.deepEqual(hops(conns(inventory(['web1']), { sshConfigFile: ok }).get('web1')!), ['me@10.9.9.9:22']);
  const loop = file('bastion-loop.conf', 'Host bastion\n  HostName 10.9.9.9\nHost *\n  ProxyJump bastion\n');
  assert.throws(() => conns(inventory(['web1']), { sshConfigFile: loop }), /bastion-loop\.conf:4:3: ProxyJump: ProxyJump loop: web1 -> bastion -> bastion .*Host \* !bastion/);
});

test("each jump host has its own keys and host-key settings; the target's command-line options are not applied to it (ssh -J)", () => {
  const tk = key('target');
  const c = conns(inventory(['target'], `, ansible_ssh_private_key_file: ${tk}, ansible_ssh_common_args: "-o UserKnownHostsFile='/kh/t1 /kh/t2' -o StrictHostKeyChecking=no -o ConnectTimeout=9"`),
    { sshConfigFile: CHAINS }).get('target')!;
  assert.equal(c.knownHostsFile, '/kh/t1');
  assert.deepEqual(c.knownHostsAlso, ['/kh/t2', '/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2']);
  assert.equal(c.strictHostKeyChecking, 'no');
  assert.equal(c.connectTimeoutMs, 9000);
  assert.deepEqual(c.identityFiles, [tk]);
  const [j0, j1, j2] = c.proxyJump;
  assert.deepEqual({ kh: j2!.knownHostsFile, also: j2!.knownHostsAlso, strict: j2!.strictHostKeyChecking, hash: j2!.hashKnownHosts, t: j2!.connectTimeoutMs },
    { kh: '/kh/j2', also: ['/kh/j2b', '/kh/global'], strict: 'accept-new', hash: true, t: 4000 });
  assert.deepEqual({ kh: j0!.knownHostsFile, strict: j0!.strictHostKeyChecking, hash: j0!.hashKnownHosts, t: j0!.connectTimeoutMs },
    { kh: join(home, '.ssh/known_hosts'), strict: 'yes', hash: false, t: 10_000 });
  // keys: the hop's own IdentityFile (IdentitiesOnly honoured), then the target's key; OpenSSH's defaults when it names none
  assert.deepEqual(j1!.identityFiles, [k1, tk]);
  assert.equal(j1!.identitiesOnly, true);
  assert.deepEqual(j0!.identityFiles, [tk]);
});

test('several UserKnownHostsFile values: the first is written, the rest and GlobalKnownHostsFile read; none; tokens; HostKeyAlias; HashKnownHosts', () => {
  const cfg = file('kh.conf', `
Host many
  UserKnownHostsFile ~/.ssh/kh_%h_%p /abs/kh2 %d/kh3
  GlobalKnownHostsFile /g1 /g2
Host nofile
  UserKnownHostsFile none
  GlobalKnownHostsFile none
Host alias
  HostKeyAlias fp-alias
  HashKnownHosts yes
  UserKnownHostsFile ~/.ssh/by-alias/%k
`);
  const c = conns(inventory(['many', 'nofile', 'alias']), { sshConfigFile: cfg });
  assert.equal(c.get('many')!.knownHostsFile, join(home, '.ssh/kh_many_22'));
  assert.deepEqual(c.get('many')!.knownHostsAlso, ['/abs/kh2', join(home, 'kh3'), '/g1', '/g2']);
  assert.equal(c.get('nofile')!.knownHostsFile, '/dev/null');
  assert.deepEqual(c.get('nofile')!.knownHostsAlso, []);
  assert.equal(c.get('alias')!.hostKeyAlias, 'fp-alias');
  assert.equal(c.get('alias')!.hashKnownHosts, true);
  assert.equal(c.get('alias')!.knownHostsFile, join(home, '.ssh/by-alias/fp-alias'));
  assert.throws(() => conns(inventory(['x'], ', ansible_ssh_common_args: "-o UserKnownHostsFile=/kh/%C"'), {}), /UserKnownHostsFile: the token %C is not supported/);
});

test('the system ssh_config is a parameter: read after ~/.ssh/config, its relative Include beside it; null reads none', () => {
  const sys = join(dir, 'etc-ssh');
  file('etc-ssh/ssh_config', 'Include conf.d/*.conf\nHost *\n  User sysuser\n  HashKnownHosts yes\n');
  file('etc-ssh/conf.d/10-port.conf', 'Host *\n  Port 2345\n');
  writeFileSync(join(home, '.ssh', 'config'), 'Host web1\n  User homeuser\n');
  try {
    const c = conns(inventory(['web1', 'web2']), { systemSshConfig: join(sys, 'ssh_config') });
    assert.deepEqual([c.get('web1')!.user, c.get('web1')!.port, c.get('web1')!.hashKnownHosts], ['homeuser', 2345, true]);
    assert.deepEqual([c.get('web2')!.user, c.get('web2')!.port], ['sysuser', 2345]);
    const none = conns(inventory(['web2']), { systemSshConfig: null }).get('web2')!;
    assert.deepEqual([none.user, none.port, none.hashKnownHosts], ['me', 22, false]);
    // -F FILE: only that file, the system one is not read (as ssh -F)
    const f = conns(inventory(['web2']), { systemSshConfig: join(sys, 'ssh_config'), sshConfigFile: file('only.conf', 'Host *\n  Port 2400\n') }).get('web2')!;
    assert.deepEqual([f.user, f.port], ['me', 2400]);
  } finally {
    writeFileSync(join(home, '.ssh', 'config'), '');
  }
});
