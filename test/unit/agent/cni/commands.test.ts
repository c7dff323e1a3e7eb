import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cmdAdd, cmdCheck, cmdDel, cmdVersion, errorVersion } from '../../../../src/agent/cni/commands.js';
import { parseCniEnv } from '../../../../src/agent/cni/env.js';
import { parseNetConf } from '../../../../src/agent/cni/netconf.js';
import { CniError } from '../../../../src/agent/cni/spec.js';
import { FakeRunner, MemoryStore, bridgeResult, deps } from './fakes.js';

const env = (command: string, o: Record<string, string> = {}) =>
  parseCniEnv({ CNI_COMMAND: command, CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/c1', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin', ...o });
const conf = (v = '1.0.0', o: Record<string, unknown> = {}) =>
  parseNetConf(JSON.stringify({ cniVersion: v, name: 'flannel', type: 'flannel', delegate: { bridge: 'cni0', hairpinMode: true }, ...o }));
const isErr = (code: number, msg?: RegExp) => (e: unknown) => e instanceof CniError && e.code === code && (!msg || msg.test(`${e.msg} ${e.details ?? ''}`));

for (const v of ['0.3.0', '0.3.1', '0.4.0', '1.0.0']) {
  test(`ADD ${v}: the delegate config is kept, bridge runs with it (Debian's /usr/lib/cni found although CNI_PATH names only /opt/cni/bin), its result comes back in ${v}`, () => {
    const d = deps();
    const r = cmdAdd(env('ADD'), conf(v), d);
    const store = d.store as MemoryStore;
    const kept = store.files.get('/var/lib/cni/flannel/c1')!;
    const delegate = JSON.parse(kept);
    assert.equal(delegate.cniVersion, v);
    assert.equal(delegate.type, 'bridge');
    assert.equal(delegate.mtu, 1450);
    assert.deepEqual(delegate.ipam, { type: 'host-local', subnet: '10.244.7.0/24', routes: [{ dst: '10.244.0.0/16', gw: '10.244.7.1' }] });
    assert.deepEqual(store.sandboxes.get('/var/lib/cni/flannel/c1'), { netns: '/run/netns/c1', ifname: 'eth0', network: 'flannel' });
    const call = (d.runner as FakeRunner).calls[0]!;
    assert.equal(call.path, '/usr/lib/cni/bridge');
    assert.equal(call.stdin, kept);
    assert.equal(call.env.CNI_COMMAND, 'ADD');
    assert.equal(call.env.CNI_PATH, '/opt/cni/bin:/usr/lib/cni');
    assert.equal(call.env.CNI_CONTAINERID, 'c1');
    assert.equal(r.cniVersion, v);
    assert.equal(r.ips?.[0]?.address, '10.244.7.2/24');
    assert.equal('version' in r.ips![0]!, v !== '1.0.0');
    assert.equal(r.interfaces?.[2]?.sandbox, '/run/netns/c1');
  });
}

test('ADD converts a delegate that answers in another version to the config\'s', () => {
  const runner = new FakeRunner(undefined, () => ({ status: 0, stdout: bridgeResult('0.4.0'), stderr: '' }));
  const r = cmdAdd(env('ADD'), conf('1.0.0'), deps(undefined, runner));
  assert.equal(r.cniVersion, '1.0.0');
  assert.equal('version' in r.ips![0]!, false);
});

test('ADD without subnet.env is "try again later" (11) naming the file, and nothing is kept', () => {
  const d = deps(undefined, undefined, null);
  assert.throws(() => cmdAdd(env('ADD'), conf('1.0.0', { subnetFile: '/run/flannel/subnet.env' }), d), isErr(11, /^\/run\/flannel\/subnet.env does not exist yet/));
  assert.equal((d.store as MemoryStore).files.size, 0);
  assert.equal((d.runner as FakeRunner).calls.length, 0);
});

test('ADD: a delegate error keeps its code (prefixed message); a missing delegate is 101; garbage is 102', () => {
  const failing = new FakeRunner(undefined, () => ({ status: 1, stdout: JSON.stringify({ code: 11, msg: 'failed to allocate for range 0: no IP addresses available in range set' }), stderr: '' }));
  const d = deps(undefined, failing);
  assert.throws(() => cmdAdd(env('ADD'), conf(), d), isErr(11, /^delegate bridge \(ADD\): failed to allocate/));
  // kept for the DEL that the runtime sends after a failed ADD
  assert.equal((d.store as MemoryStore).files.size, 1);
  assert.throws(() => cmdAdd(env('ADD'), conf(), deps(undefined, new FakeRunner({}))), isErr(101, /failed to find plugin "bridge" in path \[\/opt\/cni\/bin \/usr\/lib\/cni\].*containernetworking-plugins/));
  const crash = new FakeRunner(undefined, () => ({ status: null, stdout: '', stderr: 'panic: boom', error: 'killed by SIGSEGV' }));
  assert.throws(() => cmdAdd(env('ADD'), conf(), deps(undefined, crash)), isErr(102, /killed by SIGSEGV panic: boom/));
  const notJson = new FakeRunner(undefined, () => ({ status: 0, stdout: 'ok', stderr: '' }));
  assert.throws(() => cmdAdd(env('ADD'), conf(), deps(undefined, notJson)), isErr(102, /not JSON/));
});

test('DEL runs the delegate with the config kept at ADD (even after subnet.env is gone), then forgets the container', () => {
  const store = new MemoryStore();
  cmdAdd(env('ADD'), conf(), deps(store));
  const kept = store.files.get('/var/lib/cni/flannel/c1')!;
  const runner = new FakeRunner();
  cmdDel(env('DEL', { CNI_NETNS: '' }), conf(), deps(store, runner, null));
  assert.equal(runner.calls.length, 1);
  assert.equal(runner.calls[0]!.stdin, kept);
  assert.equal(runner.calls[0]!.env.CNI_COMMAND, 'DEL');
  assert.equal(store.files.size, 0);
  assert.equal(store.sandboxes.size, 0);
});

test('DEL of a container the plugin does not know succeeds and runs nothing (the spec: DEL is idempotent)', () => {
  const runner = new FakeRunner();
  cmdDel(env('DEL'), conf(), deps(new MemoryStore(), runner));
  assert.equal(runner.calls.length, 0);
});

test('DEL whose delegate fails keeps the config (the runtime retries) and reports the delegate\'s error', () => {
  const store = new MemoryStore();
  cmdAdd(env('ADD'), conf(), deps(store));
  const failing = new FakeRunner(undefined, () => ({ status: 1, stdout: '{"code":5,"msg":"failed to lock"}', stderr: '' }));
  assert.throws(() => cmdDel(env('DEL'), conf(), deps(store, failing)), isErr(5, /delegate bridge \(DEL\): failed to lock/));
  assert.equal(store.files.size, 1);
});

test('DEL with a kept config that is not JSON is error 6 naming the file', () => {
  const store = new MemoryStore();
  store.files.set('/var/lib/cni/flannel/c1', '{broken');
  assert.throws(() => cmdDel(env('DEL'), conf(), deps(store)), isErr(6, /kept for c1 in \/var\/lib\/cni\/flannel/));
});

test('CHECK (0.4.0, 1.0.0): the delegate checks the kept config with the prevResult in its version', () => {
  for (const v of ['0.4.0', '1.0.0']) {
    const store = new MemoryStore();
    const added = cmdAdd(env('ADD'), conf(v), deps(store));
    const runner = new FakeRunner();
    cmdCheck(env('CHECK'), conf(v, { prevResult: added }), deps(store, runner));
    const sent = JSON.parse(runner.calls[0]!.stdin);
    assert.equal(runner.calls[0]!.env.CNI_COMMAND, 'CHECK');
    assert.equal(sent.type, 'bridge');
    assert.equal(sent.prevResult.cniVersion, v);
    assert.equal(sent.prevResult.ips[0].address, '10.244.7.2/24');
    assert.equal(sent.ipam.subnet, '10.244.7.0/24');
  }
});

test('CHECK refusals: before 0.4.0 (1), no prevResult (7), unknown container (3), subnet changed (103), agent down (11)', () => {
  const store = new MemoryStore();
  const added = cmdAdd(env('ADD'), conf('1.0.0'), deps(store));
  assert.throws(() => cmdCheck(env('CHECK'), conf('0.3.1', { prevResult: added }), deps(store)), isErr(1, /config version does not allow CHECK/));
  assert.throws(() => cmdCheck(env('CHECK'), conf('1.0.0'), deps(store)), isErr(7, /CHECK needs prevResult/));
  assert.throws(() => cmdCheck(env('CHECK', { CNI_CONTAINERID: 'other' }), conf('1.0.0', { prevResult: added }), deps(store)), isErr(3, /container other was not added/));
  const moved = 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.9.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n';
  assert.throws(() => cmdCheck(env('CHECK'), conf('1.0.0', { prevResult: added }), deps(store, undefined, moved)), isErr(103, /subnet is 10.244.9.0\/24, the container was added on 10.244.7.0\/24/));
  assert.throws(() => cmdCheck(env('CHECK'), conf('1.0.0', { prevResult: added }), deps(store, undefined, null)), isErr(11));
  const failing = new FakeRunner(undefined, () => ({ status: 1, stdout: '{"code":999,"msg":"eth0: interface not found"}', stderr: '' }));
  assert.throws(() => cmdCheck(env('CHECK'), conf('1.0.0', { prevResult: added }), deps(store, failing)), isErr(999, /delegate bridge \(CHECK\): eth0: interface not found/));
});

test('VERSION: the supported versions, in the version asked for when supported (1.0.0 runtimes send one), else the newest', () => {
  assert.deepEqual(cmdVersion('{"cniVersion":"0.4.0"}'), { cniVersion: '0.4.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] });
  assert.equal(cmdVersion('').cniVersion, '1.0.0');
  assert.equal(cmdVersion('{"cniVersion":"0.2.0"}').cniVersion, '1.0.0');
  assert.equal(cmdVersion('not json').cniVersion, '1.0.0');
});

test('errors are reported in the config\'s version when it names a supported one', () => {
  assert.equal(errorVersion('{"cniVersion":"0.3.1"}'), '0.3.1');
  assert.equal(errorVersion('{"cniVersion":"9.9.9"}'), '1.0.0');
  assert.equal(errorVersion('null'), '1.0.0');
});
