import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeFlanneld, foreignSettings, isOwnAgent, parseFlanneldProcs, parseProcLine } from '../../../../src/phases/shared/foreign-agent.js';
import { adoptProblems } from '../../../../src/phases/shared/adopt-check.js';
import { parseFlags, UsageError } from '../../../../src/network/flanneld-flags.js';
import { cluster, hostSpec } from './fixtures.js';

const b64 = (parts: string[]) => Buffer.from(parts.map((p) => `${p}\0`).join('')).toString('base64');
const line = (pid: number, unit: string, exe: string, argv: string[], env: string[] = []) => [pid, unit, exe, b64(argv), b64(env)].join('\t');

test('a hand-started flanneld-amd64: Go flag styles, env fills what argv lacks', () => {
  const p = parseProcLine(line(412, '', '/usr/local/bin/flanneld-amd64', ['/usr/local/bin/flanneld-amd64', '-etcd-prefix=/docker-test/network', '--iface', 'ens160', '-ip-masq', '-public-ip', '10.0.0.5'], ['FLANNELD_ETCD_ENDPOINTS=http://10.0.0.1:2379,http://10.0.0.2:2379', 'FLANNELD_ETCD_CAFILE=/etc/ssl/ca.pem']));
  assert.ok(p?.flags);
  const s = foreignSettings(p.flags);
  assert.deepEqual(s, { etcdEndpoints: ['http://10.0.0.1:2379', 'http://10.0.0.2:2379'], etcdPrefix: '/docker-test/network', iface: ['ens160'], ipMasq: true, publicIp: '10.0.0.5', tls: { ca: '/etc/ssl/ca.pem' } });
  assert.equal(p.unit, undefined);
  assert.equal(describeFlanneld(p), 'pid 412 /usr/local/bin/flanneld-amd64 (no unit: started from a shell)');
});

test('Go flanneld flags ours lacks are recorded, booleans take no value, -ip-masq=false parsed', () => {
  const p = parseProcLine(line(7, 'flanneld.service', '/opt/flannel/flanneld (deleted)', ['/opt/flannel/flanneld', '-kube-subnet-mgr', '-etcd-prefix', '/x', '-iface-can-reach', '8.8.8.8', '-ip-masq=false']))!;
  assert.equal(p.path, '/opt/flannel/flanneld');
  assert.equal(p.unit, 'flanneld.service');
  assert.deepEqual(p.unknownFlags, ['-kube-subnet-mgr', '-iface-can-reach', '8.8.8.8']);
  assert.equal(p.flags?.etcdPrefix, '/x');
  assert.equal(p.flags?.ipMasq, false);
  const u: string[] = [];
  assert.throws(() => parseFlags(['-nope']), UsageError, 'the agent itself still refuses an unknown flag');
  parseFlags(['-nope', 'v'], {}, u);
  assert.deepEqual(u, ['-nope', 'v']);
});

test('not flanneld: shells, editors, grep, our serve-file subcommand, a flanneld-free argv', () => {
  assert.equal(parseProcLine(line(1, '', '/usr/bin/bash', ['bash', '-c', 'flanneld -etcd-prefix=/x'])), undefined);
  assert.equal(parseProcLine(line(2, '', '/usr/bin/vim', ['vim', '-etcd-prefix=/x'])), undefined);
  assert.equal(parseProcLine(line(3, 'run-u9.service', '/usr/local/bin/flanneld', ['/usr/local/bin/flanneld', 'serve-file', '--allow', '1.2.3.4'])), undefined);
  assert.equal(parseProcLine(line(4, '', '/usr/bin/foo', ['foo', '--verbose'])), undefined);
  assert.equal(parseProcLine('garbage'), undefined);
  // recognised by flags under any name, and by name with no flags at all
  assert.ok(parseProcLine(line(5, '', '/srv/net/agent', ['/srv/net/agent', '--etcd-endpoints=http://e:2379'])));
  assert.ok(parseProcLine(line(6, '', '/opt/flannel/flanneld', ['/opt/flannel/flanneld'])));
  assert.equal(parseFlanneldProcs(`${line(1, '', '/usr/bin/bash', ['bash'])}\n${line(6, '', '/opt/flannel/flanneld', ['/opt/flannel/flanneld'])}\n`).length, 1);
});

test('a flag that does not parse is kept as parseError, not thrown', () => {
  const p = parseProcLine(line(8, '', '/opt/flannel/flanneld', ['/opt/flannel/flanneld', '-healthz-port=abc']))!;
  assert.equal(p.flags, undefined);
  assert.match(p.parseError!, /healthz-port/);
});

test('our own agent: flanneld.service from the inventory path with flanprov\'s unit file', () => {
  const p = parseProcLine(line(9, 'flanneld.service', '/usr/local/bin/flanneld', ['/usr/local/bin/flanneld', '-etcd-prefix=/coreos.com/network']))!;
  assert.equal(isOwnAgent(p, '/usr/local/bin/flanneld', '# Written by flanprov; ...\n'), true);
  assert.equal(isOwnAgent(p, '/usr/local/bin/flanneld', '[Unit]\nDescription=mine\n'), false, 'a hand-written unit at our path is foreign');
  assert.equal(isOwnAgent(p, '/opt/bin/flanneld', '# Written by flanprov'), false);
  assert.equal(isOwnAgent({ ...p, unit: undefined }, '/usr/local/bin/flanneld', '# Written by flanprov'), false, 'our binary started from a shell is foreign');
});

test('adoptProblems: refused without --adopt naming the agent; with it, flags must match the inventory', () => {
  const h = hostSpec('h1', { ipMasq: true, iface: [{ kind: 'name', value: 'eth0' }] });
  const c = cluster([h]);
  c.etcd.prefix = '/docker-test/network';
  const p = parseProcLine(line(412, '', '/opt/flannel/flanneld', ['/opt/flannel/flanneld', '-etcd-endpoints=http://198.18.1.10:2379/', '-etcd-prefix=/docker-test/network', '-iface=eth0', '-ip-masq']))!;
  assert.deepEqual(adoptProblems(c, h, [], false), []);
  const refused = adoptProblems(c, h, [p], false);
  assert.equal(refused.length, 1);
  assert.match(refused[0]!.message, /pid 412 \/opt\/flannel\/flanneld \(no unit: started from a shell\).*--adopt/);
  assert.deepEqual(adoptProblems(c, h, [p], true), []);
  const other = parseProcLine(line(413, 'flanneld.service', '/opt/flannel/flanneld', ['/opt/flannel/flanneld', '-etcd-endpoints=http://198.18.1.99:2379', '-etcd-prefix=/other', '-iface=eth1']))!;
  const msgs = adoptProblems(c, h, [other], true).map((x) => x.message).join('\n');
  assert.match(msgs, /-etcd-prefix \/other, the inventory has \/docker-test\/network: set flannel_etcd_prefix: \/other/);
  assert.match(msgs, /-etcd-endpoints http:\/\/198.18.1.99:2379/);
  assert.match(msgs, /-iface=eth1, the inventory has eth0/);
  assert.match(msgs, /-ip-masq false, the inventory has flannel_ip_masq: true/);
  assert.match(adoptProblems(c, h, [p, other], true)[0]!.message, /more than one flanneld/);
});

test('a process in ssh.service\'s cgroup that is not its main PID was started from a shell', () => {
  const l = (unit: string, main: string) => `${line(300, unit, '/opt/flannel/flanneld', ['/opt/flannel/flanneld', '-etcd-prefix=/x'])}\t${main}`;
  assert.equal(parseProcLine(l('ssh.service', '120'))?.unit, undefined);
  assert.equal(parseProcLine(l('my-net.service', '300'))?.unit, 'my-net.service');
  assert.equal(parseProcLine(l('flannel-wrapper.service', '299'))?.unit, 'flannel-wrapper.service', 'a flannel unit whose ExecStart is a wrapper');
});
