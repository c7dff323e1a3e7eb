import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PeerSchedule, peerEncoding, peerOrder, pushWay, runSources, type PeerSlot } from '../../../../src/phases/shared/agent-source.js';

const built = { encoded: { xz: { file: 'dist/flanneld.xz', bytes: 24 }, gzip: { file: 'dist/flanneld.gz', bytes: 34 } } };
const gzOnly = { encoded: { gzip: { file: 'dist/flanneld.gz', bytes: 34 } } };
const none = { encoded: {} };
const tools = (...t: string[]) => new Set(t);

test('pushWay auto: the best prebuilt encoding the host decodes, then gzip, then plain, saying why', () => {
  assert.deepEqual(pushWay('auto', tools('xz', 'gzip'), built), { encoding: 'xz', prebuilt: true });
  assert.deepEqual(pushWay('auto', tools('gzip'), built), { encoding: 'gzip', prebuilt: true, note: 'no xz on the host' });
  assert.deepEqual(pushWay('auto', tools(), built), { encoding: 'plain', prebuilt: false, note: 'no xz on the host; no gzip on the host' });
  assert.deepEqual(pushWay('auto', tools('xz', 'gzip'), gzOnly), { encoding: 'gzip', prebuilt: true });
  assert.deepEqual(pushWay('auto', tools('xz', 'gzip'), none), { encoding: 'plain', prebuilt: false });
});

test('pushWay xz / gzip: that encoding when the host decodes it; gzip is made on the fly without a prebuilt copy', () => {
  assert.deepEqual(pushWay('xz', tools('xz', 'gzip'), built), { encoding: 'xz', prebuilt: true });
  assert.deepEqual(pushWay('xz', tools('gzip'), built), { encoding: 'gzip', prebuilt: true, note: 'xz asked for, but the host has no xz' });
  assert.deepEqual(pushWay('xz', tools('xz', 'gzip'), gzOnly), { encoding: 'gzip', prebuilt: true, note: 'xz asked for, but there is no prebuilt xz copy (npm run build writes it)' });
  assert.deepEqual(pushWay('gzip', tools('xz', 'gzip'), built), { encoding: 'gzip', prebuilt: true });
  assert.deepEqual(pushWay('gzip', tools('gzip'), none), { encoding: 'gzip', prebuilt: false });
  assert.deepEqual(pushWay('gzip', tools(), built), { encoding: 'plain', prebuilt: false, note: 'gzip asked for, but the host has no gzip' });
});

test('pushWay plain and sftp are taken as asked', () => {
  assert.deepEqual(pushWay('plain', tools('xz'), built), { encoding: 'plain', prebuilt: false });
  assert.deepEqual(pushWay('sftp', tools('xz'), built), { encoding: 'sftp', prebuilt: false });
});

test('peers: the seed is a host that decodes the best prebuilt encoding; a peer without the decoder fetches plain', () => {
  const h = (name: string, ...t: string[]) => ({ name, tools: tools(...t) });
  assert.deepEqual(peerOrder([h('n3', 'gzip'), h('n2', 'gzip', 'xz'), h('n1', 'gzip')], built).map((x) => x.name), ['n2', 'n1', 'n3']);
  assert.deepEqual(peerOrder([h('n3', 'gzip'), h('n1', 'gzip')], built).map((x) => x.name), ['n1', 'n3']);
  assert.deepEqual(peerOrder([], built), []);
  assert.equal(peerEncoding('xz', tools('xz'), true), 'xz');
  assert.equal(peerEncoding('xz', tools('gzip'), true), 'plain');
  assert.equal(peerEncoding('plain', tools(), true), 'plain');
  // without flannel_agent_peer_compression the hosts copy plain between them, whatever they can decode
  assert.equal(peerEncoding('xz', tools('xz'), false), 'plain');
  assert.equal(peerEncoding('gzip', tools('gzip'), false), 'plain');
});

test('PeerSchedule: the seed serves up to fanout peers at once, each copier serves while others wait', async () => {
  const s = new PeerSchedule<string>(5, 2);
  s.providerComing();
  const slots = [s.acquire(), s.acquire(), s.acquire()];
  s.addServer('seed');
  const [a, b] = await Promise.all([slots[0]!, slots[1]!]);
  assert.equal(a.server, 'seed');
  assert.equal(b.server, 'seed');
  assert.equal(a.willServe, true);
  const got: { third?: PeerSlot<string> } = {};
  void slots[2]!.then((x) => { got.third = x; });
  await new Promise((r) => setImmediate(r));
  assert.equal(got.third, undefined, 'the seed is full');
  a.release();
  s.addServer('n1');
  await new Promise((r) => setImmediate(r));
  const third = got.third!;
  assert.ok(third);
  const fourth = await s.acquire();
  const fifth = await s.acquire();
  assert.deepEqual([third.server, fourth.server, fifth.server].sort(), ['n1', 'n1', 'seed']);
  assert.equal(fifth.willServe, false, 'nobody waits after the last');
});

test('PeerSchedule: when the seed fails, or every server failed, the waiting hosts are told', async () => {
  const s = new PeerSchedule<string>(2, 4);
  s.providerComing();
  const w = [s.acquire(), s.acquire()];
  s.providerFailed();
  for (const p of w) await assert.rejects(p, /no host has the agent to copy it from/);
  const t = new PeerSchedule<string>(3, 4);
  t.providerComing();
  t.addServer('seed');
  const a = await t.acquire();
  a.release(true);
  t.providerFailed();
  await assert.rejects(t.acquire(), /no host has the agent/);
});

test('runSources: auto is peers when several hosts that may copy from peers need the agent and one can serve, else push', () => {
  const h = (kind: 'auto' | 'push' | 'url' | 'peers', ...t: string[]) => ({ kind, tools: tools(...t) });
  const serve = 'systemd-run';
  assert.deepEqual(runSources([h('auto', serve), h('auto', serve), h('auto')]), ['peers', 'peers', 'peers']);
  // one host alone: a hop through a peer would only add time
  assert.deepEqual(runSources([h('auto', serve)]), ['push']);
  assert.deepEqual(runSources([h('auto', serve), h('push', serve), h('url', serve)]), ['push', 'push', 'url']);
  // an explicit peers host counts: auto joins it
  assert.deepEqual(runSources([h('auto'), h('peers', serve)]), ['peers', 'peers']);
  // nobody can serve (no systemd-run): the controller pushes to each
  assert.deepEqual(runSources([h('auto', 'xz'), h('auto', 'gzip')]), ['push', 'push']);
  assert.deepEqual(runSources([h('peers'), h('peers')]), ['peers', 'peers'], 'asked for peers stays peers (its fallback pushes)');
  assert.deepEqual(runSources([]), []);
});

test('peers: the seed is a host that can serve (systemd-run) and decodes the best encoding, else one that can serve', () => {
  const h = (name: string, ...t: string[]) => ({ name, tools: tools(...t) });
  assert.deepEqual(peerOrder([h('n1', 'xz'), h('n2', 'xz', 'systemd-run'), h('n3', 'systemd-run')], built).map((x) => x.name), ['n2', 'n1', 'n3']);
  assert.deepEqual(peerOrder([h('n1', 'xz'), h('n2', 'gzip'), h('n3', 'systemd-run')], built).map((x) => x.name), ['n3', 'n1', 'n2']);
});

test('PeerSchedule: a failed copy from a server that has served another host keeps it (the copier\'s side is at fault)', async () => {
  const s = new PeerSchedule<string>(3, 4);
  s.providerComing();
  s.addServer('seed');
  const a = await s.acquire();
  const b = await s.acquire();
  a.release();
  b.release(true);
  const c = await s.acquire();
  assert.equal(c.server, 'seed');
  c.release(true);
  // a server that never served anyone is dropped at its first failure, and only once
  const t = new PeerSchedule<string>(4, 4);
  t.providerComing();
  t.addServer('seed');
  t.providerComing();
  t.addServer('n1');
  const x = await t.acquire();
  const y = await t.acquire();
  assert.notEqual(x.server, y.server);
  const [onSeed, onN1] = x.server === 'seed' ? [x, y] : [y, x];
  const again = await t.acquire();
  assert.equal(again.server, 'seed', 'least busy first, seed listed first');
  onSeed.release(true);
  again.release(true);
  const last = await t.acquire();
  assert.equal(last.server, 'n1', 'seed dropped; n1 (busy) is the one left');
  onN1.release();
});
