import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interfaceNameProblem, parseCniEnv } from '../../../../src/agent/cni/env.js';
import { CniError } from '../../../../src/agent/cni/spec.js';

const FULL = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c0ffee', CNI_NETNS: '/run/netns/x', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin:/usr/lib/cni' };

function fails(env: NodeJS.ProcessEnv, code: number, msg: RegExp): void {
  assert.throws(() => parseCniEnv(env), (e: unknown) => e instanceof CniError && e.code === code && msg.test(e.msg + ' ' + (e.details ?? '')));
}

test('ADD: every variable read; CNI_PATH split on ":" (empty entries dropped); CNI_ARGS passed as given', () => {
  const e = parseCniEnv({ ...FULL, CNI_PATH: '/opt/cni/bin::/usr/lib/cni:', CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=web' });
  assert.deepEqual(e, { command: 'ADD', containerId: 'c0ffee', netns: '/run/netns/x', ifname: 'eth0', args: 'IgnoreUnknown=1;K8S_POD_NAME=web', path: ['/opt/cni/bin', '/usr/lib/cni'] });
});

test('the variables each command needs (the spec: CNI_NETNS may be absent for DEL; VERSION needs none)', () => {
  fails({}, 4, /required env variables \[CNI_COMMAND\] missing/);
  fails({ CNI_COMMAND: 'ADD' }, 4, /required env variables \[CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH\] missing/);
  fails({ ...FULL, CNI_COMMAND: 'CHECK', CNI_NETNS: '' }, 4, /\[CNI_NETNS\] missing/);
  fails({ ...FULL, CNI_COMMAND: 'DEL', CNI_IFNAME: undefined }, 4, /\[CNI_IFNAME\] missing/);
  assert.equal(parseCniEnv({ ...FULL, CNI_COMMAND: 'DEL', CNI_NETNS: undefined }).netns, '');
  assert.deepEqual(parseCniEnv({ CNI_COMMAND: 'VERSION' }), { command: 'VERSION', containerId: '', netns: '', ifname: '', args: '', path: [] });
  fails({ ...FULL, CNI_PATH: '::' }, 4, /CNI_PATH/);
});

test('an unknown command is error 4 naming it', () => {
  fails({ ...FULL, CNI_COMMAND: 'GC' }, 4, /unknown CNI_COMMAND: GC/);
  fails({ ...FULL, CNI_COMMAND: 'add' }, 4, /unknown CNI_COMMAND: add/);
});

test("container IDs: alphanumeric first, then alphanumerics, '_', '.', '-'", () => {
  for (const ok of ['a', '0', 'abc_DEF.1-2', 'f'.repeat(64)]) assert.equal(parseCniEnv({ ...FULL, CNI_CONTAINERID: ok }).containerId, ok);
  for (const bad of ['-x', '.x', '_x', 'a/b', 'a b', 'a:b']) fails({ ...FULL, CNI_CONTAINERID: bad }, 4, /invalid characters in CNI_CONTAINERID/);
});

test('interface names: 1-15 characters, not . or .., no / : or whitespace', () => {
  assert.equal(interfaceNameProblem('eth0'), undefined);
  assert.equal(interfaceNameProblem('a'.repeat(15)), undefined);
  assert.match(interfaceNameProblem('a'.repeat(16))!, /too long \(16/);
  assert.match(interfaceNameProblem('..')!, /\. or \.\./);
  for (const bad of ['eth/0', 'eth:0', 'eth 0', 'eth\t0']) assert.match(interfaceNameProblem(bad)!, /contains/);
  fails({ ...FULL, CNI_IFNAME: 'eth:0' }, 4, /invalid CNI_IFNAME/);
});
