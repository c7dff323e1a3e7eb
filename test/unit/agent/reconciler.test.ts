/** The reconciler with fake backends and fake timers: coalescing, incremental vs full, retry, periodic pass, serialised work. */
import { afterEach, beforeEach, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { ActiveBackends } from '../../../src/agent/active-backends.js';
import type { Backend, ReconcileOptions, ReconcileResult } from '../../../src/agent/backends/backend.js';
import { PeerSet } from '../../../src/agent/peers.js';
import { Reconciler } from '../../../src/agent/reconciler.js';
import { parseNetworkConfig } from '../../../src/network/config.js';
import { parseCidr } from '../../../src/network/ipv4.js';
import type { Lease } from '../../../src/network/types.js';

beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'setInterval'] }));
afterEach(() => mock.timers.reset());
const flush = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};

/** A backend whose passes the test releases one by one. */
function fakeBackend() {
  const passes: { mode: string; peers: number; release: (err?: Error) => void }[] = [];
  const backend = {
    type: 'vxlan', mtu: 1450,
    prepare: async () => ({ BackendType: 'vxlan' }),
    activate: async () => undefined,
    teardown: async () => undefined,
    reconcile: (peers: readonly Lease[], o?: ReconcileOptions) => new Promise<ReconcileResult>((resolve, reject) => {
      passes.push({ mode: o?.mode ?? 'full', peers: peers.length, release: (err) => (err ? reject(err) : resolve({ added: 1, removed: 0, unchanged: 0 })) });
    }),
  } as unknown as Backend;
  return { backend, passes };
}

function rig() {
  const lines: string[] = [];
  const log = { info: (m: string) => lines.push(`I ${m}`), warn: (m: string) => lines.push(`W ${m}`), error: (m: string) => lines.push(`E ${m}`), debug: () => undefined };
  const active = new ActiveBackends();
  const f = fakeBackend();
  const config = parseNetworkConfig({ Network: '10.5.0.0/16', Backend: { Type: 'vxlan' } });
  active.setPrimary({ backend: f.backend, config, attrs: {} }, config);
  const peers = new PeerSet();
  peers.reset([{ subnet: parseCidr('10.5.2.0/24')!, attrs: { PublicIP: '192.0.0.2', PublicIPv6: null, BackendType: 'vxlan' } }]);
  const rec = new Reconciler({ active, peers, log });
  return { rec, passes: f.passes, lines };
}

test('requests before start are ignored; during a pass they fold into exactly one more, full if any of them was', async () => {
  const r = rig();
  r.rec.request('watch', 'incremental');
  await flush();
  assert.equal(r.passes.length, 0);
  r.rec.start(10_000);
  r.rec.request('watch', 'incremental');
  await flush();
  assert.deepEqual(r.passes.map((p) => p.mode), ['incremental']);
  r.rec.request('watch', 'incremental');
  r.rec.request('relist');
  r.rec.request('watch', 'incremental');
  r.passes[0]!.release();
  await flush();
  assert.deepEqual(r.passes.map((p) => p.mode), ['incremental', 'full'], 'three requests, one pass; one of them wanted the kernel read');
  r.passes[1]!.release();
  await flush();
  assert.equal(r.passes.length, 2);
  assert.equal(r.rec.last!.reason, 'watch', 'the newest reason names the pass');
  assert.equal(r.rec.last!.added, 1);
});

test('a failed pass is logged, recorded and retried a second later; the periodic pass reads the kernel', async () => {
  const r = rig();
  r.rec.start(10_000);
  r.rec.request('watch', 'incremental');
  await flush();
  r.passes[0]!.release(new Error('RTNETLINK answers: File exists'));
  await flush();
  assert.equal(r.rec.last!.error, 'vxlan: RTNETLINK answers: File exists');
  assert.ok(r.lines.includes('E reconcile (watch) failed, retrying: vxlan: RTNETLINK answers: File exists'));
  mock.timers.tick(999);
  await flush();
  assert.equal(r.passes.length, 1);
  mock.timers.tick(1);
  await flush();
  assert.equal(r.passes.length, 2);
  assert.equal(r.passes[1]!.mode, 'full');
  r.passes[1]!.release();
  await flush();
  mock.timers.tick(10_000);
  await flush();
  assert.equal(r.passes.length, 3);
  assert.equal(r.passes[2]!.mode, 'full');
  r.passes[2]!.release();
  await flush();
  assert.equal(r.rec.last!.reason, 'periodic');
});

test('kernel work is serialised: a job waits for the pass in progress, and a pass waits for the job', async () => {
  const r = rig();
  r.rec.start(10_000);
  r.rec.request('watch', 'incremental');
  await flush();
  const order: string[] = [];
  const job = r.rec.run(async () => void order.push('job'));
  await flush();
  assert.deepEqual(order, [], 'the job waits for the pass');
  r.passes[0]!.release();
  await job;
  assert.deepEqual(order, ['job']);
  r.rec.stop();
  r.rec.request('after stop');
  mock.timers.tick(60_000);
  await flush();
  assert.equal(r.passes.length, 1, 'nothing after stop');
});
