/**
 * The differential test of ssh_config evaluation: for every config of the corpus and every host name, the
 * settings flanprov computes equal what `ssh -G -F FILE HOST` (OpenSSH's own evaluation) prints.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { expandIdentityFile, resolveSshConfig, SshConfigError } from '../../../src/inventory/ssh-config.js';

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

const FIELDS = ['hostname', 'user', 'port', 'identityfile', 'identitiesonly', 'proxyjump', 'userknownhostsfile', 'stricthostkeychecking', 'connecttimeout'];

function sshG(file: string, host: string): Record<string, string[]> {
  const out = execFileSync('ssh', ['-G', '-F', file, host], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const r: Record<string, string[]> = {};
  for (const line of out.split('\n')) {
    const i = line.indexOf(' ');
    const k = line.slice(0, i);
    if (FIELDS.includes(k)) (r[k] ??= []).push(line.slice(i + 1));
  }
  return r;
}

function ours(file: string, host: string): Record<string, string[]> {
  const s = resolveSshConfig(host.toLowerCase() === host ? host : host, [{ file, system: false }], ctx);
  const r: Record<string, string[]> = {
    hostname: [s.hostname.toLowerCase() === s.hostname ? s.hostname : s.hostname],
    user: [s.user], port: [String(s.port)], identityfile: s.identityFiles, identitiesonly: [s.identitiesOnly ? 'yes' : 'no'],
    userknownhostsfile: [s.userKnownHostsFiles.join(' ')], stricthostkeychecking: [({ yes: 'true', no: 'false' } as Record<string, string>)[s.strictHostKeyChecking] ?? s.strictHostKeyChecking], // ssh -G prints yes/no as true/false
    connecttimeout: [s.connectTimeoutSec === undefined ? 'none' : String(s.connectTimeoutSec)],
  };
  if (s.proxyJump !== undefined && s.proxyJump.toLowerCase() !== 'none') r.proxyjump = [s.proxyJump];
  return r;
}

test(`ssh_config: ${Object.keys(CORPUS).length} configs x ${HOSTS.length} hosts evaluate as ssh -G does`, () => {
  let n = 0;
  for (const [name, text] of Object.entries(CORPUS)) {
    const file = write(`${name}.conf`, text);
    for (const host of HOSTS) {
      assert.deepEqual(ours(file, host), sshG(file, host), `${name} / ${host}`);
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
