/**
 * Benchmark: `flanprov up` from nothing and a no-change `up` on a real lab, at 3 and 10 hosts (or the sizes given). Prints
 * figures (the run's own time from the summary event, the wall time of the whole CLI process) and, for the
 * best no-change run, where the time went (phases, and verify's probe/ping/removal split from -v); with several sizes, each phase's growth. Runs dist/flanprov.cjs (npm run build first).
 *   node --import tsx bench/up-lab.ts [3,10] [--wan 50ms,100mbit] [--runtime podman] [--runs N (no-change runs, 3)]
 *     [--cli FILE (another build of the CLI, e.g. an older one copied into dist/, to compare)]
 * --wan is passed to `lab up` (docs/lab-wan.md): the controller then sits RTT away behind a shared RATE.
 * --runtime too (docs/lab.md): `podman` measures hosts without Docker (flannel_runtime: cni, docs/cni.md).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Lab, ROOT, flanprov, jsonEvents, sh } from '../test/e2e/up-helpers.js';

/**
 * `up` of the built CLI (npm run build), as users run it (its process time is the product's, not tsx's compile),
 * under /usr/bin/time: the whole process's CPU (user + system, start-up and exit included), which the
 * phases' cpuMs leave out (loading the command's modules before the first phase).
 */
let cliPath = join(ROOT, 'dist/flanprov.cjs');

async function timedUp(inv: string): Promise<{ r: Awaited<ReturnType<typeof sh>>; processCpuMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'flanprov-bench-up-'));
  try {
    const out = join(dir, 'time');
    const r = await sh('/usr/bin/time', ['-f', '%U %S', '-o', out, process.execPath, cliPath, 'up', inv, '--output', 'json', '-v'], 900_000);
    const [u, s] = readFileSync(out, 'utf8').trim().split('\n').at(-1)!.split(' ').map(Number);
    return { r, processCpuMs: Math.round((u! + s!) * 1000) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Timed { run: number; wall: number; changed: number; phases: string; verify: string; byPhase: Map<string, number>; cpuMs: number; cpu: string; processCpuMs: number }

async function timeUp(inv: string): Promise<Timed> {
  const { r, processCpuMs } = await timedUp(inv);
  const ev = jsonEvents(r.stdout);
  if (r.code !== 0) throw new Error(`up failed (${r.code}): ${ev.find((e) => e.event === 'error')?.message ?? r.stderr}`);
  const s = ev.at(-1)!;
  const verifyMs = ev.find((e) => e.event === 'phase.end' && e.phase === 'Verify')?.ms ?? 0;
  const at = (re: RegExp): number | undefined => {
    const m = ev.find((e) => e.event === 'log' && re.test(e.message))?.message.match(/(\d+) ms/);
    return m ? Number(m[1]) : undefined;
  };
  const probes = at(/^probes ready after/);
  const pings = at(/^ping matrix done after/);
  return {
    run: s.ms, wall: r.ms, processCpuMs, changed: s.hosts.filter((h: { status: string }) => h.status === 'changed').length,
    phases: ev.filter((e) => e.event === 'phase.end' && e.status !== 'skipped').map((e) => `${e.phase} ${e.ms}`).join(', '),
    cpuMs: ev.filter((e) => e.event === 'phase.end').reduce((n, e) => n + (e.cpuMs ?? 0), 0),
    // the controller's CPU per phase (user + system): where the CLI's own work goes, e.g. loading etcd3
    cpu: ev.filter((e) => e.event === 'phase.end' && e.cpuMs !== undefined).map((e) => `${e.phase} ${e.cpuMs}`).join(', '),
    byPhase: new Map(ev.filter((e) => e.event === 'phase.end' && e.status !== 'skipped').map((e) => [e.phase as string, e.ms as number])),
    verify: probes !== undefined && pings !== undefined ? `wait for probes ${probes}, pings ${pings - probes}, removal ${verifyMs - pings} ms` : '',
  };
}

const secs = (ms: number): string => (ms / 1000).toFixed(2);

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const wanAt = args.indexOf('--wan');
  const wan = wanAt >= 0 ? args.splice(wanAt, 2)[1] : undefined;
  if (wanAt >= 0 && !wan) throw new Error('--wan needs RTT,RATE (e.g. 50ms,100mbit)');
  const rtAt = args.indexOf('--runtime');
  const runtime = rtAt >= 0 ? args.splice(rtAt, 2)[1] : undefined;
  if (rtAt >= 0 && !runtime) throw new Error('--runtime needs a spec (e.g. podman)');
  const cliAt = args.indexOf('--cli');
  if (cliAt >= 0) cliPath = resolve(args.splice(cliAt, 2)[1] ?? '');
  const runsAt = args.indexOf('--runs');
  const runs = runsAt >= 0 ? Number(args.splice(runsAt, 2)[1]) : 3;
  if (!(runs >= 1)) throw new Error('--runs needs a count');
  const sizes = (args[0] ?? '3,10').split(',').map(Number);
  if (wan) console.log(`lab with --wan ${wan}`);
  const rows: { n: number; first: Timed; best: Timed; load: string }[] = [];
  for (const n of sizes) {
    const lab = await Lab.up(`bup${n}`, ['--hosts', String(n), ...(wan ? ['--wan', wan] : []), ...(runtime ? ['--runtime', runtime] : [])]);
    if (runtime) console.log(`lab with --runtime ${runtime}`);
    try {
      const first = await timeUp(lab.inventory);
      const again: Timed[] = [];
      for (let i = 0; i < runs; i++) again.push(await timeUp(lab.inventory));
      const best = again.reduce((a, b) => (a.run < b.run ? a : b));
      const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      console.log(`${n} hosts: up from nothing ${secs(first.run)} s (process ${secs(first.wall)} s, ${first.changed} changed); ` +
        `no-change up best of ${runs} ${secs(best.run)} s (process ${secs(best.wall)} s), runs ${again.map((a) => secs(a.run)).join(' / ')} s, changed ${best.changed}`);
      console.log(`  no-change medians: run ${secs(median(again.map((a) => a.run)))} s, process ${secs(median(again.map((a) => a.wall)))} s, ` +
        `controller CPU in phases ${median(again.map((a) => a.cpuMs))} ms, whole process ${median(again.map((a) => a.processCpuMs))} ms ` +
        `(process walls ${again.map((a) => secs(a.wall)).join(' / ')} s; process CPU ${again.map((a) => a.processCpuMs).join(' / ')} ms)`);
      console.log(`  from nothing: ${first.phases}`);
      console.log(`  best no-change: ${best.phases}; verify: ${best.verify}`);
      console.log(`  controller CPU ms, no-change runs: ${again.map((a) => a.cpu).join(' | ')}`);
      rows.push({ n, first, best, load: loadavg()[0]!.toFixed(1) });
    } finally {
      const d = await flanprov('down', '--yes', '-i', lab.inventory);
      if (d.code !== 0) console.error(`down failed: ${d.stdout.slice(-500)}`);
      await lab.down();
    }
  }
  if (rows.length > 1) printGrowth(rows);
}

/**
 * Growth with fleet size (issue 12.6): each phase's time at every size and its ratio to the smallest
 * size's. Hosts work in parallel, so a phase should grow like the slowest host, not like N; one that grows
 * with N (a serial step, the controller's CPU or uplink) shows up as a ratio near N / N0.
 */
function printGrowth(rows: { n: number; first: Timed; best: Timed; load: string }[]): void {
  const n0 = rows[0]!.n;
  for (const [label, pick] of [['from nothing', (r: typeof rows[0]) => r.first], ['no-change', (r: typeof rows[0]) => r.best]] as const) {
    console.log(`growth, ${label} (ms; ×: against ${n0} hosts; hosts ×${rows.map((r) => (r.n / n0).toFixed(1)).join(' / ×')}; load ${rows.map((r) => r.load).join(' / ')}):`);
    const phases = [...new Set(rows.flatMap((r) => [...pick(r).byPhase.keys()]))];
    for (const ph of [...phases, 'whole run', 'controller CPU']) {
      const v = rows.map((r) => (ph === 'whole run' ? pick(r).run : ph === 'controller CPU' ? pick(r).cpuMs : pick(r).byPhase.get(ph) ?? 0));
      if (v.every((x) => x < 5)) continue;
      console.log(`  ${ph.padEnd(22)} ${v.map((x, i) => `${String(x).padStart(6)}${i && v[0] ? ` ×${(x / v[0]).toFixed(1)}` : ''}`).join('  ')}`);
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
