/** etcd liveness with a fake probe and fake timers: one log line per transition, recovery listeners, /status. */
import { afterEach, beforeEach, mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { EtcdLiveness } from '../../../src/agent/etcd-liveness.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'Date'], now: T0 }));
afterEach(() => mock.timers.reset());

const flush = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

/** A probe whose answer the test decides: 'ok', an error, or 'hang' (never settles, like a frozen etcd). */
function rig() {
  let mode: 'ok' | 'hang' | Error = 'ok';
  let probes = 0;
  const lines: string[] = [];
  const log = { info: (m: string) => lines.push(`I ${m}`), warn: (m: string) => lines.push(`W ${m}`), error: (m: string) => lines.push(`E ${m}`), debug: () => undefined };
  const l = new EtcdLiveness({
    log, describe: 'http://etcd:2379', intervalMs: 2000, timeoutMs: 3000,
    probe: () => {
      probes++;
      if (mode === 'ok') return Promise.resolve();
      if (mode === 'hang') return new Promise<void>(() => undefined);
      return Promise.reject(mode);
    },
  });
  let recovered = 0;
  l.onRecovered(() => recovered++);
  return { l, lines, set: (m: typeof mode) => (mode = m), probes: () => probes, recovered: () => recovered };
}

async function advance(ms: number, step = 100): Promise<void> {
  for (let t = 0; t < ms; t += step) {
    mock.timers.tick(step);
    await flush();
  }
}

test('start-up answers are silent; a frozen etcd is reported once within interval + timeout, and its return once', async () => {
  const r = rig();
  r.l.answered(); // start-up read the config
  assert.equal(r.l.status().connected, true);
  r.l.start();
  await advance(10_000);
  assert.deepEqual(r.lines, [], 'nothing to say while etcd answers');
  assert.equal(r.probes(), 5);
  assert.equal(r.l.status().lastContact, new Date(T0 + 10_000).toISOString());

  r.set('hang');
  const frozenAt = Date.now();
  await advance(2000 + 3500);
  const st = r.l.status();
  assert.equal(st.connected, false);
  assert.equal(st.detail, 'no answer within 3 s');
  assert.equal(st.lastContact, new Date(frozenAt).toISOString(), 'last contact stays at the last answer');
  assert.ok(Date.parse(st.since!) - frozenAt <= 5500, `detected ${Date.parse(st.since!) - frozenAt} ms after the freeze`);
  assert.deepEqual(r.lines, ['W etcd is not answering (http://etcd:2379: no answer within 3 s); routes, the lease and subnet.env stay as they are; checking every 2 s']);

  await advance(60_000);
  assert.equal(r.lines.length, 1, 'no flood while it stays away');
  assert.equal(r.recovered(), 0);

  r.set('ok');
  await advance(6000);
  assert.equal(r.l.status().connected, true);
  assert.equal(r.l.status().detail, undefined);
  assert.equal(r.lines.length, 2);
  assert.match(r.lines[1]!, /^I etcd answers again \(http:\/\/etcd:2379\) after \d+\.\d s without an answer; re-listing leases and config$/);
  assert.equal(r.recovered(), 1, 'listeners resync once');
});

test('a refused connection is reported with gRPC\'s reason, without its status prefix; the circuit breaker does not hide it', async () => {
  const r = rig();
  r.l.answered();
  r.l.start();
  r.set(new Error('14 UNAVAILABLE: No connection established. Last error: connect ECONNREFUSED 10.0.0.1:2379'));
  await advance(2500);
  assert.equal(r.l.status().detail, 'No connection established. Last error: connect ECONNREFUSED 10.0.0.1:2379');
  r.set(new Error('Execution prevented because the circuit breaker is open'));
  await advance(4000);
  assert.equal(r.l.status().detail, 'No connection established. Last error: connect ECONNREFUSED 10.0.0.1:2379');
  assert.equal(r.lines.length, 1);
});

test('a failure seen before start is state only; stop ends probing', async () => {
  const r = rig();
  r.l.failed('4 DEADLINE_EXCEEDED: Deadline exceeded');
  assert.equal(r.l.status().connected, false);
  r.l.answered();
  assert.equal(r.recovered(), 0, 'start-up recovery is not an outage');
  assert.deepEqual(r.lines, []);
  r.l.start();
  await advance(4000);
  const n = r.probes();
  r.l.stop();
  await advance(10_000);
  assert.equal(r.probes(), n);
});
