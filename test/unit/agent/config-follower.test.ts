/** The config follower over a fake config key: start-up wait, parse, latest wins, deletion, invalid values, restart notes, resync. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigFollower, type ConfigSource } from '../../../src/agent/config-follower.js';
import type { SwitchOutcome } from '../../../src/agent/backend-switch.js';
import type { StoredConfig } from '../../../src/etcd/config-store.js';
import { parseNetworkConfig } from '../../../src/network/config.js';
import type { NetworkConfig } from '../../../src/network/types.js';

const VXLAN = '{"Network":"10.5.0.0/16","Backend":{"Type":"vxlan"}}';
const HOSTGW = '{"Network":"10.5.0.0/16","Backend":{"Type":"host-gw"}}';
const flush = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};

function rig(stored: (StoredConfig | undefined | Error)[] = [{ text: VXLAN, modRevision: '5', version: '1' }]) {
  const lines: string[] = [];
  const log = { info: (m: string) => lines.push(`I ${m}`), warn: (m: string) => lines.push(`W ${m}`), error: (m: string) => lines.push(`E ${m}`), debug: () => undefined };
  const watches: { from: string | undefined; cancelled: boolean; emit: (text: string | undefined, rev: string) => void; fail: (e: Error) => void }[] = [];
  const reads = [...stored];
  let last: StoredConfig | undefined | Error;
  const source: ConfigSource = {
    key: '/coreos.com/network/config',
    read: async () => {
      last = reads.length ? reads.shift() : last;
      if (last instanceof Error) throw last;
      return last;
    },
    watch: (from, onChange, onError) => {
      const w = { from, cancelled: false, emit: onChange, fail: onError };
      watches.push(w);
      return { cancel: async () => void (w.cancelled = true) };
    },
    notFoundMessage: async () => 'flannel config not found in etcd store (/coreos.com/network/config). Did you create your config using etcdv3 API?',
  };
  let inForce: NetworkConfig | undefined;
  const switched: { next: NetworkConfig; rev: string | undefined; release: () => void }[] = [];
  let outcome: SwitchOutcome = { kind: 'switched' };
  let hold = false;
  const f = new ConfigFollower({
    source, log, retryMs: 1, inForce: () => inForce,
    switchBackend: (next, rev) => new Promise((resolve) => {
      const release = () => {
        if (outcome.kind === 'switched') inForce = next;
        resolve(outcome);
      };
      switched.push({ next, rev, release });
      if (!hold) release();
    }),
  });
  return {
    f, lines, watches, switched,
    setInForce: (c: NetworkConfig) => (inForce = c),
    inForce: () => inForce,
    holdSwitches: (h: boolean) => (hold = h),
    setOutcome: (o: SwitchOutcome) => (outcome = o),
  };
}

test('start-up waits for a valid config, logging each distinct problem once', async () => {
  const r = rig([new Error('14 UNAVAILABLE: connect ECONNREFUSED'), new Error('14 UNAVAILABLE: connect ECONNREFUSED'), undefined, { text: '{"Network":"10.5.0.0/30"}', modRevision: '3', version: '1' }, { text: VXLAN, modRevision: '4', version: '2' }]);
  const cfg = await r.f.waitForFirst();
  assert.equal(cfg?.backendType, 'vxlan');
  assert.equal(r.f.revision, '4');
  assert.deepEqual(r.lines, [
    'W Couldn\'t fetch network config: 14 UNAVAILABLE: connect ECONNREFUSED',
    'W Couldn\'t fetch network config: flannel config not found in etcd store (/coreos.com/network/config). Did you create your config using etcdv3 API?',
    'W Couldn\'t fetch network config: network is too small. Minimum useful network prefix is /28',
  ]);
});

test('watch from the revision read; a backend change goes to the switch, a deletion and an invalid value keep the config', async () => {
  const r = rig();
  r.setInForce((await r.f.waitForFirst())!);
  r.f.follow();
  assert.equal(r.watches[0]!.from, '5');
  r.watches[0]!.emit(undefined, '6');
  r.watches[0]!.emit('{"Network":', '7');
  await flush();
  assert.equal(r.lines.length, 2);
  assert.equal(r.lines[0], 'W network config /coreos.com/network/config was deleted; keeping the current one');
  assert.match(r.lines[1]!, /^W network config changed but is invalid, keeping the current one \(vxlan\): /);
  r.watches[0]!.emit(HOSTGW, '8');
  await flush();
  assert.equal(r.switched.length, 1);
  assert.equal(r.switched[0]!.rev, '8');
  assert.equal(r.inForce()!.backendType, 'host-gw');
  assert.equal(r.f.revision, '8');
});

test('latest wins: values arriving during a switch are folded into one more round', async () => {
  const r = rig();
  r.setInForce((await r.f.waitForFirst())!);
  r.f.follow();
  r.holdSwitches(true);
  r.watches[0]!.emit(HOSTGW, '6');
  await flush();
  assert.equal(r.switched.length, 1);
  r.watches[0]!.emit(VXLAN, '7');
  r.watches[0]!.emit(HOSTGW.replace('host-gw', 'vxlan').replace('}}', ',"VNI":1}}'), '8');
  await flush();
  assert.equal(r.switched.length, 1, 'nothing else while the first switch runs');
  r.holdSwitches(false);
  r.switched[0]!.release();
  await flush();
  assert.equal(r.switched.length, 2, 'one more round, for the newest value only');
  assert.equal(r.switched[1]!.rev, '8');
  assert.equal(r.inForce()!.backendType, 'vxlan');
});

test('changes that need a restart are noted (and cleared by a config that needs none); explicit defaults are no change', async () => {
  const r = rig();
  r.setInForce((await r.f.waitForFirst())!);
  r.f.follow();
  r.watches[0]!.emit('{"Network":"10.6.0.0/16","Backend":{"Type":"vxlan"}}', '6');
  await flush();
  assert.equal(r.f.restartNeeded, 'restart flanneld to apply: Network 10.5.0.0/16 -> 10.6.0.0/16; SubnetMin 10.5.1.0 -> 10.6.1.0; SubnetMax 10.5.255.0 -> 10.6.255.0');
  assert.match(r.lines.at(-1)!, /^W network config changed \(revision 6\) in ways that cannot be applied live: Network 10\.5\.0\.0\/16 -> 10\.6\.0\.0\/16; .*restart flanneld to apply it$/);
  r.watches[0]!.emit('{"Network":"10.5.0.0/16","Backend":{"Type":"vxlan","VNI":1,"Port":8472}}', '7');
  await flush();
  assert.equal(r.f.restartNeeded, undefined);
  assert.equal(r.lines.at(-1), 'I network config changed (revision 7); nothing to apply');
  assert.equal(r.switched.length, 0);
  r.setOutcome({ kind: 'restart-needed', note: 'restart flanneld to apply: vxlan options changed while the old vxlan datapath is still active' });
  r.watches[0]!.emit(HOSTGW, '8');
  await flush();
  assert.equal(r.f.restartNeeded, 'restart flanneld to apply: vxlan options changed while the old vxlan datapath is still active');
});

test('resync after an outage: the value written meanwhile is applied once, the watch restarts from it', async () => {
  const r = rig([{ text: VXLAN, modRevision: '5', version: '1' }, { text: HOSTGW, modRevision: '9', version: '2' }]);
  r.setInForce((await r.f.waitForFirst())!);
  r.f.follow();
  await r.f.resync();
  await flush();
  assert.equal(r.watches[0]!.cancelled, true);
  assert.equal(r.watches[1]!.from, '9');
  assert.equal(r.switched.length, 1);
  assert.equal(r.inForce()!.backendType, 'host-gw');
  // the old stream recovering late and replaying revision 9 (or older) changes nothing
  r.watches[1]!.emit(HOSTGW, '9');
  r.watches[0]!.emit(VXLAN, '6');
  await flush();
  assert.equal(r.switched.length, 1);
  // nothing changed during another outage: nothing to do
  await r.f.resync();
  await flush();
  assert.equal(r.switched.length, 1);
  assert.equal(r.watches[2]!.from, '9');
});

test('a cancelled watch is opened again from the newest revision seen', async () => {
  const r = rig();
  r.setInForce((await r.f.waitForFirst())!);
  r.f.follow();
  r.watches[0]!.emit('{"Network":"10.5.0.0/16","Backend":{"Type":"vxlan","VNI":1}}', '6');
  r.watches[0]!.fail(new Error('Watcher canceled: mvcc: required revision has been compacted'));
  await new Promise((res) => setTimeout(res, 20));
  assert.equal(r.watches.length, 2);
  assert.equal(r.watches[1]!.from, '6');
  assert.ok(r.lines.includes('W config watch cancelled (Watcher canceled: mvcc: required revision has been compacted); watching again'));
  assert.equal(parseNetworkConfig(VXLAN).backendType, r.inForce()!.backendType);
});
