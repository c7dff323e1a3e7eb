/**
 * Benchmark: `flanprov up` from nothing and a no-change `up` on a real lab, at 3 and 10 hosts (or the sizes given). Prints
 * figures (the run's own time from the summary event, the wall time of the whole CLI process) and, for the
 * best no-change run, where the time went (phases, and verify's probe/ping/removal split from -v); with several sizes, each phase's growth. Runs dist/flanprov.cjs (npm run build first).
 *   node --import tsx bench/up-lab.ts [3,10] [--wan 50ms,100mbit] [--runtime podman]
 * --wan is passed to `lab up` (docs/lab-wan.md): the controller then sits RTT away behind a shared RATE.
 * --runtime too (docs/lab.md): `podman` measures hosts without Docker (flannel_runtime: cni, docs/cni.md).
 */
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Lab, ROOT, flanprov, jsonEvents, sh } from '../test/e2e/up-helpers.js';

/** the built CLI (npm run build), as users run it: its process time is the product's, not tsx's compile */
const cli = (...args: string[]) => sh(process.execPath, [join(ROOT, 'dist/flanprov.cjs'), ...args], 900_000);

interface Timed { run: number; wall: number; changed: number; phases: string; verify: string; byPhase: Map<string, number>; cpuMs: number }

async function timeUp(inv: string): Promise<Timed> {
  const r = await cli('up', inv, '--output', 'json', '-v');
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
    run: s.ms, wall: r.ms, changed: s.hosts.filter((h: { status: string }) => h.status === 'changed').length,
    phases: ev.filter((e) => e.event === 'phase.end' && e.status !== 'skipped').map((e) => `${e.phase} ${e.ms}`).join(', '),
    cpuMs: ev.filter((e) => e.event === 'phase.end').reduce((n, e) => n + (e.cpuMs ?? 0), 0),
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
  const sizes = (args[0] ?? '3,10').split(',').map(Number);
  if (wan) console.log(`lab with --wan ${wan}`);
  const rows: { n: number; first: Timed; best: Timed; load: string }[] = [];
  for (const n of sizes) {
    const lab = await Lab.up(`bup${n}`, ['--hosts', String(n), ...(wan ? ['--wan', wan] : []), ...(runtime ? ['--runtime', runtime] : [])]);
    if (runtime) console.log(`lab with --runtime ${runtime}`);
    try {
      const first = await timeUp(lab.inventory);
      const again: Timed[] = [];
      for (let i = 0; i < 3; i++) again.push(await timeUp(lab.inventory));
      const best = again.reduce((a, b) => (a.run < b.run ? a : b));
      console.log(`${n} hosts: up from nothing ${secs(first.run)} s (process ${secs(first.wall)} s, ${first.changed} changed); ` +
        `no-change up best of 3 ${secs(best.run)} s (process ${secs(best.wall)} s), runs ${again.map((a) => secs(a.run)).join(' / ')} s, changed ${best.changed}`);
      console.log(`  from nothing: ${first.phases}`);
      console.log(`  best no-change: ${best.phases}; verify: ${best.verify}`);
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
