import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { toJsonLine, JsonReporter } from '../../../../src/cli/output/json.js';
import { PlainReporter } from '../../../../src/cli/output/plain.js';
import { parseEtcdTimeout, reportError, toRunOptions } from '../../../../src/cli/output/command.js';
import type { FlanprovEvent } from '../../../../src/phases/framework/events.js';
import { EVENT_FIELDS, schemaProblems, streamProblems } from '../../../../src/cli/output/schema.js';
import { InvalidInputError, ExitCode, exitCodeOf } from '../../../../src/util/errors.js';

const sink = (): { out: Writable & { isTTY?: boolean }; text: () => string } => {
  let s = '';
  const out = new Writable({ write(c, _e, cb) { s += c.toString(); cb(); } });
  return { out, text: () => s };
};

const samples: FlanprovEvent[] = [
  { event: 'run.start', command: 'up', hosts: ['n1'], dryRun: false },
  { event: 'phase.start', phase: 'Connect', hosts: ['n1'] },
  { event: 'host.change', phase: 'Install units', host: 'n1', change: 'flanneld.service written', dryRun: false },
  { event: 'host.result', phase: 'Install units', host: 'n1', status: 'changed', changes: ['flanneld.service written'], ms: 12 },
  { event: 'phase.end', phase: 'Install units', status: 'changed', ms: 15 },
  { event: 'log', level: 'info', message: 'hello', host: 'n1' },
  { event: 'verify.matrix', hosts: ['n1', 'n2'], cells: [[null, { ok: true, rttMs: 0.2, mtuOk: true }], [{ ok: false, message: 'timeout' }, null]] },
  { event: 'measure.pair', from: 'n1', to: 'n2', sent: 1000, received: 998, lost: 2, lossPct: 0.2, lossRuns: 1, longestRun: 2, longestGapMs: 30.5, longestGapAt: 1700000000.5, maxSilenceMs: 30.5, errors: 0, duplicates: 0, incomplete: false },
  { event: 'measure.summary', intervalMs: 10, totalSent: 2000, totalLost: 2, longestGapMs: 30.5, withinTarget: true, startedAt: 1700000000, stoppedAt: 1700000010, configWrittenAt: 1700000002 },
  { event: 'switch.result', from: 'vxlan', to: 'host-gw', outcome: 'switched', notFollowed: [], ms: 2500 },
  { event: 'summary', command: 'up', ok: true, dryRun: false, exitCode: 0, ms: 1234, hosts: [{ host: 'n1', status: 'changed', changes: ['flanneld.service written'], ms: 30 }] },
  { event: 'error', message: 'bad', exitCode: 2, where: 'inventory.yml:3:5' },
];

test('JSON lines: v=1, ISO ts, event name first-class, documented fields present', () => {
  for (const ev of samples) {
    const o = JSON.parse(toJsonLine(ev, new Date(0))) as Record<string, unknown>;
    assert.equal(o.v, 1);
    assert.equal(o.ts, '1970-01-01T00:00:00.000Z');
    assert.equal(o.event, ev.event);
    assert.deepEqual(schemaProblems(o), []);
  }
  assert.deepEqual(Object.keys(EVENT_FIELDS).sort(), [...new Set(samples.map((s) => s.event))].sort(), 'a sample for every event');
  const s = sink();
  const r = new JsonReporter(s.out);
  r.emit({ event: 'log', level: 'debug', message: 'hidden' });
  r.emit(samples[0]!);
  assert.equal(s.text().trim().split('\n').length, 1, 'debug logs only with -v; one line per event');
});

test('the schema checker rejects the old shape and broken streams', () => {
  // The shape before schema v1 (a `time` field, no v/ts) must not pass.
  assert.deepEqual(schemaProblems({ event: 'log', level: 'info', message: 'x', time: '2026-01-01T00:00:00.000Z' }), [
    'v is undefined, want 1', 'ts is undefined, want ISO 8601 UTC',
  ]);
  assert.deepEqual(schemaProblems({ v: 1, ts: '2026-01-01 00:00', event: 'phase.end', phase: 'x', status: 'ok' }), [
    'ts is "2026-01-01 00:00", want ISO 8601 UTC', 'phase.end lacks ms',
  ]);
  assert.deepEqual(schemaProblems({ v: 1, ts: '2026-01-01T00:00:00Z', event: 'nope' }), ['unknown event "nope"']);
  const lines = samples.map((e) => JSON.parse(toJsonLine(e)) as unknown);
  assert.deepEqual(streamProblems([lines[0], lines.at(-2), lines.at(-1)].filter(Boolean)), ['the last event is not summary']);
  const ordered = [...lines.filter((e) => (e as { event: string }).event !== 'summary'), lines.find((e) => (e as { event: string }).event === 'summary')];
  assert.deepEqual(streamProblems(ordered), []);
});

test('plain lines: changes, failures, matrix and the final per-host summary', () => {
  const s = sink();
  const r = new PlainReporter(s.out);
  for (const ev of samples) r.emit(ev);
  r.emit({ event: 'host.result', phase: 'Start', host: 'n2', status: 'failed', changes: [], ms: 3, message: 'unit failed' });
  const t = s.text();
  assert.match(t, /^up: 1 host\(s\)$/m);
  assert.match(t, /^  n1: flanneld.service written$/m);
  assert.match(t, /^\[changed\] Install units \(15 ms\)$/m);
  assert.match(t, /^n1 +- +ok/m);
  assert.match(t, /^n2 +FAIL +-/m);
  assert.match(t, /^up: ok in 1\.2 s: 0 ok, 1 changed, 0 failed$/m);
  assert.match(t, /^  n1 +changed +0\.0 s +flanneld.service written$/m);
  assert.match(t, /^  n2: FAILED: unit failed$/m);
  assert.match(t, /^error: inventory\.yml:3:5: bad$/m);
});

test('one place for exit codes', () => {
  assert.equal(exitCodeOf(new InvalidInputError('x')), ExitCode.INVALID_INPUT);
  assert.equal(exitCodeOf(new Error('bug')), ExitCode.INTERNAL);
  const s = sink();
  const code = reportError(new JsonReporter(s.out), new InvalidInputError('bad key', 'inv.yml:1:1', 'fix it'));
  assert.equal(code, 2);
  assert.deepEqual(JSON.parse(s.text()), { ...JSON.parse(s.text()), event: 'error', message: 'bad key', where: 'inv.yml:1:1', hint: 'fix it', exitCode: 2 });
  assert.throws(() => toRunOptions({ concurrency: '0', concurrentUploads: '5', output: 'text', etcdTimeout: '5s' }), /--concurrency must be a positive integer/);
  const o = toRunOptions({ concurrency: '7', concurrentUploads: '2', output: 'json', dryRun: true, etcdTimeout: '1500ms' });
  assert.equal(o.concurrency, 7);
  assert.equal(o.etcdTimeoutMs, 1500);
  assert.equal(parseEtcdTimeout('2s'), 2000);
  assert.equal(parseEtcdTimeout('1m'), 60_000);
  assert.equal(parseEtcdTimeout('3'), 3000);
  for (const bad of ['0s', 'soon', '-1s', '20m']) assert.throws(() => parseEtcdTimeout(bad), /--etcd-timeout must be a duration/);
});
