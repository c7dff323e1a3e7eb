import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runPhases, reportExitCode, PhaseFailedError } from '../../../../src/phases/framework/runner.js';
import { Limiter } from '../../../../src/phases/framework/limit.js';
import type { Phase, RunOptions } from '../../../../src/phases/framework/types.js';
import type { ClusterSpec, HostSpec } from '../../../../src/inventory/types.js';
import type { FlanprovEvent, Reporter } from '../../../../src/phases/framework/events.js';
import { UnreachableError, StepFailedError, ExitCode } from '../../../../src/util/errors.js';
import { preflightRefusal } from '../../../../src/phases/shared/preflight.js';

const host = (name: string): HostSpec => ({ name } as unknown as HostSpec);
const cluster = (names: string[]): ClusterSpec => ({ hosts: names.map(host) } as unknown as ClusterSpec);
const opts = (o: Partial<RunOptions> = {}): RunOptions => ({ dryRun: false, concurrency: 30, uploadConcurrency: 5, verbose: false, connect: {}, etcdTimeoutMs: 5000, ...o });
class Collect implements Reporter {
  events: FlanprovEvent[] = [];
  emit(ev: FlanprovEvent): void { this.events.push(ev); }
  async close(): Promise<void> { /* */ }
}

test('statuses per host and phase; stops at the first failing phase and names the hosts', async () => {
  const ran: string[] = [];
  const phases: Phase[] = [
    { title: 'A', async run(ctx) { ran.push('A'); await ctx.forEachHost(async (h, rec) => { if (h.name === 'n2') rec.changed('x written'); }); } },
    { title: 'B', async run(ctx) { ran.push('B'); await ctx.forEachHost(async (h) => { if (h.name !== 'n1') throw new StepFailedError('boom'); }); } },
    { title: 'C', async run() { ran.push('C'); } },
  ];
  const rep = new Collect();
  const r = await runPhases({ command: 'up', cluster: cluster(['n1', 'n2', 'n3']), phases, options: opts(), reporter: rep });
  assert.deepEqual(ran, ['A', 'B']);
  assert.equal(r.ok, false);
  assert.ok(r.error instanceof PhaseFailedError);
  assert.match((r.error as Error).message, /phase "B" failed on 2 host\(s\): n2, n3/);
  assert.equal(reportExitCode(r), ExitCode.STEP_FAILED);
  assert.deepEqual(r.phases.map((p) => [p.title, p.status, p.failedHosts]), [['A', 'changed', []], ['B', 'failed', ['n2', 'n3']]]);
  assert.deepEqual(r.hosts.map((h) => [h.host, h.status, h.changes, h.failedPhase ?? '']), [
    ['n1', 'ok', [], ''], ['n2', 'failed', ['x written'], 'B'], ['n3', 'failed', [], 'B'],
  ]);
  const names = rep.events.map((e) => e.event);
  assert.deepEqual(names.slice(0, 2), ['run.start', 'phase.start']);
  assert.ok(rep.events.some((e) => e.event === 'host.change' && e.host === 'n2' && e.change === 'x written'));
});

test('unreachable hosts give exit code 3; failed hosts are skipped by later forEachHost calls', async () => {
  const seen: string[] = [];
  const phases: Phase[] = [{
    title: 'Connect', readOnly: true,
    async run(ctx) {
      try { await ctx.forEachHost(async (h) => { if (h.name === 'n2') throw new UnreachableError('no route'); }); } catch { /* keep going */ }
      await ctx.forEachHost(async (h) => { seen.push(h.name); });
      throw new PhaseFailedError('Connect', [{ host: 'n2', error: new UnreachableError('no route') }]);
    },
  }];
  const r = await runPhases({ command: 'up', cluster: cluster(['n1', 'n2']), phases, options: opts(), reporter: new Collect() });
  assert.deepEqual(seen, ['n1']);
  assert.equal(reportExitCode(r), ExitCode.UNREACHABLE);
});

test('dry run: dryRun() or readOnly phases run, others are skipped', async () => {
  let touched = false;
  const phases: Phase[] = [
    { title: 'Facts', readOnly: true, async run(ctx) { await ctx.forEachHost(async () => undefined); } },
    { title: 'Write', async run(ctx) { await ctx.forEachHost(async (_h, rec) => { touched = true; rec.changed('unit written'); }); } },
    { title: 'Plan', async dryRun(ctx) { await ctx.forEachHost(async (_h, rec) => rec.changed('would restart')); }, async run() { touched = true; } },
    { title: 'Skip me', shouldRun: () => false, async run() { touched = true; } },
  ];
  const rep = new Collect();
  const r = await runPhases({ command: 'up', cluster: cluster(['n1']), phases, options: opts({ dryRun: true }), reporter: rep });
  assert.equal(touched, false);
  assert.deepEqual(r.phases.map((p) => p.status), ['ok', 'skipped', 'changed', 'skipped']);
  assert.deepEqual(r.hosts[0]!.changes, ['would restart']);
  assert.ok(rep.events.some((e) => e.event === 'host.change' && e.dryRun));
  // not in a dry run, the phase runs
  const r2 = await runPhases({ command: 'up', cluster: cluster(['n1']), phases: [phases[1]!], options: opts(), reporter: new Collect() });
  assert.equal(touched, true);
  assert.deepEqual(r2.hosts[0]!.changes, ['unit written']);
});

test('bounded concurrency: hosts and uploads separately', async () => {
  let active = 0; let max = 0; let upActive = 0; let upMax = 0;
  const phases: Phase[] = [{
    title: 'P',
    async run(ctx) {
      await ctx.forEachHost(async () => { active++; max = Math.max(max, active); await new Promise((r) => setTimeout(r, 5)); active--; });
      await ctx.forEachHost(async () => { upActive++; upMax = Math.max(upMax, upActive); await new Promise((r) => setTimeout(r, 5)); upActive--; }, { limit: 'uploads' });
    },
  }];
  await runPhases({ command: 'up', cluster: cluster(Array.from({ length: 12 }, (_, i) => `n${i}`)), phases, options: opts({ concurrency: 4, uploadConcurrency: 2 }), reporter: new Collect() });
  assert.equal(max, 4);
  assert.equal(upMax, 2);
  assert.throws(() => new Limiter(0), /integer >= 1/);
});

test('cleanUp runs in reverse order for phases that ran, also after a failure', async () => {
  const order: string[] = [];
  const mk = (t: string, fail = false): Phase => ({
    title: t,
    async run() { if (fail) throw new Error(`${t} broke`); },
    async cleanUp() { order.push(t); },
  });
  const r = await runPhases({ command: 'up', cluster: cluster(['n1']), phases: [mk('a'), mk('b', true), mk('c')], options: opts(), reporter: new Collect() });
  assert.deepEqual(order, ['b', 'a']);
  assert.equal(reportExitCode(r), ExitCode.INTERNAL, 'a plain Error in a phase is an internal error');
});

test('a per-host error whose "where" is the host is shown once in failure lists, another "where" is kept', async () => {
  const phases: Phase[] = [{
    title: 'Start',
    async run(ctx) {
      await ctx.forEachHost(async (h) => {
        if (h.name === 'h1') throw new StepFailedError('flanneld not ready', 'h1');
        if (h.name === 'h2') throw new StepFailedError('bad key', 'inventory.yml:3:5');
      });
    },
  }];
  const rep = new Collect();
  const r = await runPhases({ command: 'up', cluster: cluster(['h1', 'h2']), phases, options: opts(), reporter: rep });
  const msg = (r.error as Error).message;
  assert.match(msg, /^ {2}h1: flanneld not ready$/m);
  assert.match(msg, /^ {2}h2: inventory\.yml:3:5: bad key$/m);
  assert.doesNotMatch(msg, /h1: h1:/);
  const results = rep.events.filter((e): e is Extract<FlanprovEvent, { event: 'host.result' }> => e.event === 'host.result');
  assert.deepEqual(results.map((e) => [e.host, e.message]), [['h1', 'flanneld not ready'], ['h2', 'inventory.yml:3:5: bad key']]);
  assert.deepEqual(r.hosts.map((h) => h.message), ['flanneld not ready', 'inventory.yml:3:5: bad key']);
});

test('a preflight refusal that names hosts counts and shows them as failed (summary and host.result), the others ok', async () => {
  const problems = [
    { severity: 'error' as const, check: 'etcd', hosts: ['n3'], message: 'cannot reach etcd 198.18.1.10:2379' },
    { severity: 'error' as const, check: 'docker', hosts: ['n3', 'n1'], message: '--bip in /etc/default/docker:3' },
    { severity: 'error' as const, check: 'network-config', hosts: [], message: 'invalid' },
  ];
  const phases: Phase[] = [
    { title: 'Facts', readOnly: true, async run(ctx) { await ctx.forEachHost(async () => undefined); } },
    { title: 'Preflight', readOnly: true, async run() { throw preflightRefusal('preflight refused; nothing was changed on any host', problems); } },
    { title: 'Write', async run() { assert.fail('must not run'); } },
  ];
  const rep = new Collect();
  const r = await runPhases({ command: 'check', cluster: cluster(['n1', 'n2', 'n3']), phases, options: opts(), reporter: rep });
  assert.equal(reportExitCode(r), ExitCode.INVALID_INPUT);
  assert.deepEqual(r.hosts.map((h) => [h.host, h.status, h.failedPhase ?? '']), [['n1', 'failed', 'Preflight'], ['n2', 'ok', ''], ['n3', 'failed', 'Preflight']]);
  assert.equal(r.hosts[2]!.message, 'cannot reach etcd 198.18.1.10:2379; --bip in /etc/default/docker:3');
  assert.deepEqual(r.phases[1]!.failedHosts.sort(), ['n1', 'n3']);
  assert.ok(rep.events.some((e) => e.event === 'host.result' && e.host === 'n3' && e.status === 'failed' && e.phase === 'Preflight'));
});

test('an interrupt: the phase in flight finishes, no host task or phase starts after it, clean-ups run, exit 130', async () => {
  const ac = new AbortController();
  const started: string[] = [];
  let cleaned = false;
  const phases: Phase[] = [
    {
      title: 'Push', async run(ctx) {
        await ctx.forEachHost(async (h, rec) => {
          started.push(h.name);
          if (h.name === 'n1') ac.abort('interrupted by SIGINT');
          await new Promise((r) => setTimeout(r, 20)); // the step in flight finishes
          rec.changed('pushed');
        });
      },
      async cleanUp() { cleaned = true; },
    },
    { title: 'Start', async run() { assert.fail('no phase starts after an interrupt'); } },
  ];
  const r = await runPhases({ command: 'up', cluster: cluster(['n1', 'n2', 'n3']), phases, options: opts({ signal: ac.signal, concurrency: 1 }), reporter: new Collect() });
  assert.deepEqual(started, ['n1'], 'with one host at a time, n2 and n3 never started');
  assert.equal(reportExitCode(r), ExitCode.INTERRUPTED);
  assert.match(String((r.error as Error).message), /interrupted by SIGINT: "Push" was finished or undone, nothing was started after it \(next: "Start"\)/);
  assert.deepEqual(r.hosts.map((h) => [h.host, h.status]), [['n1', 'changed'], ['n2', 'ok'], ['n3', 'ok']]);
  assert.ok(cleaned);
});

test('phase.end carries each connected host\'s requests made in that phase (a host connected in it counts from 0)', async () => {
  const trips = new Map<string, number>();
  const conn = (name: string) => ({ roundTrips: () => trips.get(name) ?? 0 }) as unknown as import('../../../../src/remote/types.js').RemoteHost;
  const phases: Phase[] = [
    { title: 'Connect', readOnly: true, async run(ctx) { await ctx.forEachHost(async (h) => { trips.set(h.name, 1); h.conn = conn(h.name); }); } },
    { title: 'Facts', readOnly: true, async run(ctx) { await ctx.forEachHost(async (h) => { trips.set(h.name, trips.get(h.name)! + (h.name === 'n1' ? 1 : 3)); }); } },
  ];
  const rep = new Collect();
  await runPhases({ command: 'up', cluster: cluster(['n1', 'n2']), phases, options: opts(), reporter: rep });
  const ends = rep.events.flatMap((e) => (e.event === 'phase.end' ? [[e.phase, e.roundTrips]] : []));
  assert.deepEqual(ends, [['Connect', { n1: 1, n2: 1 }], ['Facts', { n1: 1, n2: 3 }]]);
});
