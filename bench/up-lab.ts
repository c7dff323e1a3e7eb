/**
 * Benchmark: `flanprov up` from nothing and a no-change `up` on a real lab, at 3 and 10 hosts. Prints
 * figures (the run's own time from the summary event, and the wall time of the whole CLI process).
 *   node --import tsx bench/up-lab.ts [3,10]
 */
import { Lab, flanprov, jsonEvents } from '../test/e2e/up-helpers.js';

async function timeUp(inv: string): Promise<{ run: number; wall: number; changed: number }> {
  const r = await flanprov('up', inv, '--output', 'json');
  if (r.code !== 0) throw new Error(`up failed (${r.code}): ${jsonEvents(r.stdout).find((e) => e.event === 'error')?.message ?? r.stderr}`);
  const s = jsonEvents(r.stdout).at(-1)!;
  return { run: s.ms, wall: r.ms, changed: s.hosts.filter((h: { status: string }) => h.status === 'changed').length };
}

async function main(): Promise<void> {
  const sizes = (process.argv[2] ?? '3,10').split(',').map(Number);
  for (const n of sizes) {
    const lab = await Lab.up(`bup${n}`, ['--hosts', String(n)]);
    try {
      const first = await timeUp(lab.inventory);
      const again: { run: number; wall: number; changed: number }[] = [];
      for (let i = 0; i < 3; i++) again.push(await timeUp(lab.inventory));
      const best = again.reduce((a, b) => (a.run < b.run ? a : b));
      console.log(`${n} hosts: up from nothing ${(first.run / 1000).toFixed(2)} s (process ${(first.wall / 1000).toFixed(2)} s, ${first.changed} changed); ` +
        `no-change up best of 3 ${(best.run / 1000).toFixed(2)} s (process ${(best.wall / 1000).toFixed(2)} s), runs ${again.map((a) => (a.run / 1000).toFixed(2)).join(' / ')} s, changed ${best.changed}`);
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
