/**
 * The differential test of ssh_config evaluation: for every config of the corpus and every host name, the
 * settings flanprov computes equal what `ssh -G -F FILE HOST` (OpenSSH's own evaluation) prints.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { defaultConfigFiles, expandIdentityFile, resolveSshConfig, SshConfigError } from '../../../src/inventory/ssh-config.js';

const dir = mkdtempSync(join(tmpdir(), 'flanprov-sshcfg-'));
const ctx = { home: homedir(), localUser: userInfo().username };
const write = (name: string, text: string): string => { const p = join(dir, name); mkdirSync(join(p, '..'), { recursive: true }); writeFileSync(p, text); return p; };

const inc = write('inc.d/10-lab.conf', 'Host lab-*\n  User labuser\n  Port 2022\n');
write('inc.d/20-more.conf', 'Host *\n  IdentityFile /keys/from-include\n');
write('inc.d/.hidden.conf', 'Host *\n  User hidden\n');

const CORPUS: Record<string, string> = {
  basic: 'Host web1\n  HostName 10.0.0.1\n  User ops\n  Port 2222\n',
  wildcards: 'Host web* db?\n  User wild\nHost *\n  User fallback\n  Port 2200\n',
  negation: 'Host *.example.com !bastion.example.com\n  User inner\n  ProxyJump bastion.example.com\nHost *\n  User outer\n',
  'first-wins': 'Host web1\n  User first\n  Port 1111\nHost web*\n  User second\n  Port 2222\n  HostName second.example\n',
  'hostname-token': 'Host n?\n  HostName %h.lab.example\nHost *\n  HostName never-%h\n',
  'hostname-percent': 'Host x\n  HostName 100%%.%h\n',
  identities: 'Host a\n  IdentityFile ~/.ssh/a\n  IdentityFile %d/keys/%u-%h\n  IdentitiesOnly yes\nHost *\n  IdentityFile /etc/keys/shared\n  IdentityFile ~/.ssh/a\n',
  'proxyjump-chain': 'Host inner*\n  ProxyJump ops@jump1:2222,jump2\nHost inner-direct\n  ProxyJump none\n',
  'proxyjump-none-first': 'Host direct\n  ProxyJump none\nHost *\n  ProxyJump bastion\n',
  'known-hosts': 'Host kh\n  UserKnownHostsFile ~/.ssh/kh_a /tmp/kh_b\n  StrictHostKeyChecking accept-new\nHost *\n  UserKnownHostsFile /never\n  StrictHostKeyChecking no\n',
  'known-hosts-tokens': 'Host kh a\n  HostKeyAlias alias-%h\n  UserKnownHostsFile ~/kh/%k %d/x/%h-%p-%r-%u-%n %%lit\n  GlobalKnownHostsFile /g1 ~/g2\n  HashKnownHosts yes\nHost *\n  HashKnownHosts no\n  UserKnownHostsFile none\n  GlobalKnownHostsFile none\n',
  'strict-variants': 'Host s1\n  StrictHostKeyChecking yes\nHost s2\n  StrictHostKeyChecking off\nHost s3\n  StrictHostKeyChecking=ask\n',
  timeout: 'Host t\n  ConnectTimeout 7\nHost *\n  ConnectTimeout 30\n',
  'equals-and-case': 'HOST eq\n  hostname=10.9.9.9\n  USER = caps\n  pOrT=2300\n',
  'quoted-args': 'Host q\n  IdentityFile "/path with space/key"\n  User "quoted"\n',
  'match-host': 'Host alias\n  HostName real.example.com\nMatch host real.example.com\n  User matched\nMatch host *.other,!skip.other\n  Port 2400\n',
  'match-originalhost-all': 'Match originalhost alias*\n  User orig\nMatch all\n  Port 2500\n',
  'match-negated': 'Match !host special\n  User not-special\n',
  'global-first': 'User global\nPort 2600\nHost web1\n  User late\n',
  include: `Include ${join(dir, 'inc.d')}/*.conf\nHost *\n  User after-include\n`,
  'include-inactive': `Host other\n  Include ${inc}\nHost *\n  Port 2700\n`,
  comments: '# a comment\nHost c  # not a comment in OpenSSH? patterns stop at #\n  User commented\n\n   # indented comment\n',
  'case-insensitive-host': 'Host WEB1\n  User upper\n',
  'ignored-options': 'Host *\n  ServerAliveInterval 30\n  ControlMaster auto\n  SendEnv LANG\n  ForwardAgent yes\n  User ign\n',
};
const HOSTS = ['web1', 'web22', 'db1', 'n1', 'x', 'a', 'b', 'inner1', 'inner-direct', 'direct', 'kh', 's1', 's2', 's3', 't', 'eq', 'q', 'alias', 'foo.other', 'skip.other',
  'special', 'c', 'lab-1', 'other', 'host.example.com', 'bastion.example.com', 'Web1'];

const FIELDS = ['hostname', 'user', 'port', 'identityfile', 'identitiesonly', 'proxyjump', 'userknownhostsfile', 'globalknownhostsfile', 'hostkeyalias', 'hashknownhosts',
  'stricthostkeychecking', 'connecttimeout'];

/** `ssh -G -F file HOST` for every host, from one shell (one Node spawn per config file, not per pair) */
function sshGAll(file: string, hosts: string[]): Map<string, Record<string, string[]>> {
  const out = execFileSync('sh', ['-c', 'f=$1; shift; for h; do echo "=== $h"; ssh -G -F "$f" "$h" 2>/dev/null; done', 'sh', file, ...hosts], { encoding: 'utf8' });
  return splitG(out);
}

/** the output of a `for h; do echo "=== $h"; ssh -G ...; done` loop, per host */
function splitG(out: string): Map<string, Record<string, string[]>> {
  const m = new Map<string, Record<string, string[]>>();
  for (const chunk of out.split(/^=== /m).filter(Boolean)) {
    const nl = chunk.indexOf('\n');
    m.set(chunk.slice(0, nl), parseG(chunk.slice(nl + 1)));
  }
  return m;
}

function parseG(out: string): Record<string, string[]> {
  const r: Record<string, string[]> = {};
  for (const line of out.split('\n')) {
    const i = line.indexOf(' ');
    const k = line.slice(0, i);
    if (FIELDS.includes(k)) (r[k] ??= []).push(line.slice(i + 1));
  }
  return r;
}

function ours(file: string, host: string): Record<string, string[]> {
  return shown(resolveSshConfig(host, [{ file, system: false }], ctx));
}

/** our settings in ssh -G's words */
function shown(s: ReturnType<typeof resolveSshConfig>): Record<string, string[]> {
  const r: Record<string, string[]> = {
    hostname: [s.hostname.toLowerCase() === s.hostname ? s.hostname : s.hostname],
    user: [s.user], port: [String(s.port)], identityfile: s.identityFiles, identitiesonly: [s.identitiesOnly ? 'yes' : 'no'],
    userknownhostsfile: [s.userKnownHostsFiles.join(' ')], globalknownhostsfile: [s.globalKnownHostsFiles.join(' ')],
    hashknownhosts: [s.hashKnownHosts ? 'yes' : 'no'], stricthostkeychecking: [({ yes: 'true', no: 'false' } as Record<string, string>)[s.strictHostKeyChecking] ?? s.strictHostKeyChecking], // ssh -G prints yes/no as true/false
    connecttimeout: [s.connectTimeoutSec === undefined ? 'none' : String(s.connectTimeoutSec)],
  };
  if (s.proxyJump !== undefined && s.proxyJump.toLowerCase() !== 'none') r.proxyjump = [s.proxyJump];
  if (s.hostKeyAlias !== undefined) r.hostkeyalias = [s.hostKeyAlias];
  return r;
}

test(`ssh_config: ${Object.keys(CORPUS).length} configs x ${HOSTS.length} hosts evaluate as ssh -G does`, () => {
  let n = 0;
  for (const [name, text] of Object.entries(CORPUS)) {
    const file = write(`${name}.conf`, text);
    const theirs = sshGAll(file, HOSTS);
    for (const host of HOSTS) {
      assert.deepEqual(ours(file, host), theirs.get(host), `${name} / ${host}`);
      n++;
    }
  }
  assert.ok(n >= 500);
});

test('IdentityFile tokens: ~ %d %u %h %r %n %p %%', () => {
  const s = { hostname: 'real.example', user: 'ops', port: 2222 };
  assert.equal(expandIdentityFile('~/.ssh/%u-%h-%r-%n-%p-%%', s, 'alias', { home: '/home/me', localUser: 'me' }), '/home/me/.ssh/me-real.example-ops-alias-2222-%');
  assert.equal(expandIdentityFile('%d/k', s, 'alias', { home: '/home/me', localUser: 'me' }), '/home/me/k');
  assert.throws(() => expandIdentityFile('%C', s, 'a', { home: '/h', localUser: 'u' }), /token %C is not supported/);
});

test('refusals: Match exec, ProxyCommand, bad values, with file:line:col', () => {
  const cases: [string, RegExp, string][] = [
    ['Match exec "true"\n  User x\n', /Match exec is not supported/, ':1:1'],
    ['Host *\n  ProxyCommand nc %h %p\n', /ProxyCommand is not supported: use ProxyJump/, ':2:3'],
    ['Host *\n  Port abc\n', /Port: "abc" is not a port number/, ':2:3'],
    ['Host *\n  StrictHostKeyChecking maybe\n', /StrictHostKeyChecking/, ':2:3'],
  ];
  for (const [text, re, at] of cases) {
    const f = write(`bad-${Math.random().toString(36).slice(2)}.conf`, text);
    assert.throws(() => resolveSshConfig('h', [{ file: f, system: false }], ctx), (e: unknown) => e instanceof SshConfigError && re.test(e.message) && `${e.pos.file}:${e.pos.line}:${e.pos.col}`.endsWith(at), text);
  }
  // ProxyCommand none is fine; a refused option in a block that does not apply is not an error
  const ok = write('ok.conf', 'Host other\n  ProxyCommand nc %h %p\nHost *\n  ProxyCommand none\n');
  assert.equal(resolveSshConfig('h', [{ file: ok, system: false }], ctx).hostname, 'h');
});

/**
 * Without -F, ssh reads ~/.ssh/config and then /etc/ssh/ssh_config; `ssh -G -F` would bypass the system file, so
 * comparing like with like needs ssh -G without -F. It runs in a private mount namespace where /etc/ssh is a
 * fixture directory and the home directory (ssh takes it from the passwd entry) a fixture home: nothing of this
 * machine's ssh configuration is read, by ssh or by flanprov (defaultConfigFiles takes the system file's path).
 */
test('without -F: ~/.ssh/config then the system file, relative Includes in each, as ssh -G (fixtures, private mount namespace)', (t) => {
  // ssh takes the home directory from the passwd entry: root's is /root (as root, or as root in a user namespace)
  const pwHome = '/root';
  const userns: string[] = process.getuid?.() === 0 ? [] : ['--map-root-user'];
  const probe = spawnSync('unshare', [...userns, '--mount', 'true'], { encoding: 'utf8' });
  if (probe.status !== 0) return t.skip(`needs unshare --mount (as root, or user namespaces): ${probe.stderr.trim()}`);
  const pairs: { name: string; user: string; system: string; files: Record<string, string> }[] = [
    {
      name: 'user file first, system file after, system Include relative to /etc/ssh',
      user: 'Host web1\n  User homeuser\n  UserKnownHostsFile ~/.ssh/kh_home\nHost *\n  Port 2200\n',
      system: 'Include conf.d/*.conf\nHost *\n  User sysuser\n  Port 2999\n  HashKnownHosts yes\n  IdentityFile ~/.ssh/sys_key\n  UserKnownHostsFile ~/.ssh/kh_sys\n  GlobalKnownHostsFile /etc/ssh/g_kh\n',
      files: { 'etc/conf.d/10-web.conf': 'Host web*\n  ConnectTimeout 9\n  StrictHostKeyChecking accept-new\n' },
    },
    {
      // (Debian writes the Include as /etc/ssh/ssh_config.d/*.conf, the same files on a machine; relative here so
      // that flanprov reads the fixture's, where ssh reads them through the mount)
      name: "user Include relative to ~/.ssh; Debian's stock system file",
      user: 'Include inc/*.conf\nHost db*\n  HostName %h.internal\n',
      system: 'Include ssh_config.d/*.conf\nHost *\n    SendEnv LANG LC_*\n    HashKnownHosts yes\n    GSSAPIAuthentication yes\n',
      files: { 'home/.ssh/inc/a.conf': 'Host web2\n  ProxyJump bastion\n  IdentityFile ~/.ssh/web2\n', 'etc/ssh_config.d/20-x.conf': 'Host x\n  Port 2022\n' },
    },
    { name: 'no user file', user: '', system: 'Host *\n  User only-system\n  IdentitiesOnly yes\n', files: {} },
  ];
  const hosts = ['web1', 'web2', 'db1', 'x'];
  for (const [i, p] of pairs.entries()) {
    const base = mkdtempSync(join(dir, `default-${i}-`));
    const etc = join(base, 'etc');
    const home = join(base, 'home');
    mkdirSync(join(home, '.ssh'), { recursive: true });
    mkdirSync(etc, { recursive: true });
    writeFileSync(join(etc, 'ssh_config'), p.system);
    if (p.user) writeFileSync(join(home, '.ssh', 'config'), p.user);
    for (const [f, text] of Object.entries(p.files)) { mkdirSync(join(base, f, '..'), { recursive: true }); writeFileSync(join(base, f), text); }
    const script = `mount --bind "$1" /etc/ssh && mount --bind "$2" "$3" && shift 3 && for h; do echo "=== $h"; ssh -G "$h" 2>/dev/null; done`;
    const r = spawnSync('unshare', [...userns, '--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', etc, home, pwHome, ...hosts], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const theirs = splitG(r.stdout);
    const files = defaultConfigFiles(home, join(etc, 'ssh_config'));
    for (const h of hosts) {
      assert.deepEqual(shown(resolveSshConfig(h, files, { home, localUser: ctx.localUser })), rebased(theirs.get(h)!, pwHome, home), `${p.name} / ${h}`);
    }
  }
});

/** ssh ran with the fixture home mounted at `from`; flanprov read it where it is (`to`): compare paths under the same name */
function rebased(g: Record<string, string[]>, from: string, to: string): Record<string, string[]> {
  return Object.fromEntries(Object.entries(g).map(([k, v]) => [k, v.map((x) => x.split(`${from}/`).join(`${to}/`))]));
}
