import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseBinary, compareVersions, versionProblems, type BinaryChoice } from '../../../../src/phases/etcd/binary-plan.js';
import type { MemberFacts } from '../../../../src/phases/etcd/member-facts.js';
import type { EtcdMemberSpec } from '../../../../src/inventory/types.js';

const spec = (install: EtcdMemberSpec['install'] = 'auto'): EtcdMemberSpec => ({ name: 'h1', address: '10.0.0.1', host: {} as never, install, binary: '/usr/bin/etcd', binPath: '/usr/local/bin/etcd' });
const facts = (o: Partial<MemberFacts> = {}): MemberFacts => ({ machine: 'x86_64', systemdPid1: true, binaries: new Map(), files: new Map(), data: { kind: 'absent' }, listeners: [], etcdUser: false, ...o });
const local = { path: '/usr/bin/etcd', version: '3.4.23', machine: 'x86_64' };

test('auto: the installed package; else what flanprov pushed before; else the package manager; else push', () => {
  const pkg = chooseBinary(spec(), facts({ packageVersion: '3.4.23-4+b4', binaries: new Map([['/usr/bin/etcd', { sha256: 'a', version: '3.4.23' }]]) }), local) as BinaryChoice;
  assert.deepEqual([pkg.action, pkg.execPath, pkg.version], ['none', '/usr/bin/etcd', '3.4.23']);
  const pushed = chooseBinary(spec(), facts({ packageCandidate: '3.4.23-4+b4', binaries: new Map([['/usr/local/bin/etcd', { sha256: 'b', version: '3.4.23' }]]) }), local) as BinaryChoice;
  assert.deepEqual([pushed.action, pushed.execPath], ['push', '/usr/local/bin/etcd']);
  const apt = chooseBinary(spec(), facts({ packageCandidate: '1:3.5.9-1' }), local) as BinaryChoice;
  assert.deepEqual([apt.action, apt.version, apt.execPath], ['apt-install', '3.5.9', '/usr/bin/etcd']);
  const push = chooseBinary(spec(), facts(), local) as BinaryChoice;
  assert.deepEqual([push.action, push.version, push.source], ['push', '3.4.23', 'pushed from /usr/bin/etcd']);
});

test('forced modes and what cannot work', () => {
  assert.match((chooseBinary(spec('package'), facts(), local) as { error: string }).error, /neither installed nor offered/);
  assert.equal((chooseBinary(spec('push'), facts({ packageVersion: '3.4.23-4' }), local) as BinaryChoice).action, 'push');
  assert.match((chooseBinary(spec(), facts(), undefined) as { error: string }).error, /no etcd binary on the controller/);
  assert.match((chooseBinary(spec(), facts({ machine: 'aarch64' }), local) as { error: string }).error, /built for x86_64, the host is aarch64/);
});

test('versions: the same everywhere, 3.4 or later', () => {
  const c = (member: string, version: string): BinaryChoice => ({ member, version, execPath: '/x', action: 'push', source: 'pushed from /x' });
  assert.deepEqual(versionProblems([c('h1', '3.4.23'), c('h2', '3.4.23')]), []);
  assert.match(versionProblems([c('h1', '3.4.23'), c('h2', '3.5.9')])[0]!, /different etcd versions: h1 3\.4\.23 \(pushed from \/x\), h2 3\.5\.9/);
  assert.match(versionProblems([c('h1', '3.3.25')]).join(), /older than 3\.4\.0/);
  assert.ok(compareVersions('3.10.0', '3.4.23') > 0);
});
