/**
 * Benchmark: `flanprov up` from nothing and a no-change `up` on a real lab, at 3 and 10 hosts. Prints
 * figures (the run's own time from the summary event, the wall time of the whole CLI process) and, for the
 * best no-change run, where the time went (phases, and verify's probe/ping/removal split from -v).
 *   node --import tsx bench/up-lab.ts [3,10] [--wan 50ms,100mbit] [--runtime podman]
 * --wan is passed to `lab up` (docs/lab-wan.md): the controller then sits RTT away behind a shared RATE.
 * --runtime too (docs/lab.md): `podman` measures hosts without Docker (flannel_runtime: cni, docs/cni.md).
 */
import { Lab, flanprov, jsonEvents } from '../test/e2e/up-helpers.js';

interface Timed { run: number; wall: number; changed: number; phases: string; verify: string }

async function timeUp(inv: string): Promise<Timed> {
  const r = await flanprov('up', inv, '--output', 'json', '-v');
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
    } finally {
      const d = await flanprov('down', '--yes', '-i', lab.inventory);
      if (d.code !== 0) console.error(`down failed: ${d.stdout.slice(-500)}`);
      await lab.down();
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
