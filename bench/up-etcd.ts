/**
 * Benchmark: `flanprov up` from nothing with flanprov running the etcd cluster (an `etcd` group, no
 * flannel_etcd_endpoints) next to the same `up` against the lab's own etcd, at 3 and 10 hosts (3 etcd
 * members: the first three hosts). Each pair is run `rounds` times (default 3), alternating, each from
 * nothing (`down --yes`; after the managed runs `--etcd --purge` and the PKI directory removed); prints every run, the best of each,
 * the etcd phases' own times and the no-change run with etcd.
 *   node --import tsx bench/up-etcd.ts [3,10] [rounds]
 */
import { Lab, flanprov, jsonEvents } from '../test/e2e/up-helpers.js';
import { rmSync } from 'node:fs';
import { pkiDirOf, writeManaged } from '../test/e2e/etcd-helpers.js';

interface Timed { run: number; wall: number; phases: Map<string, number> }

async function timeUp(inv: string): Promise<Timed> {
  const r = await flanprov('up', inv, '--output', 'json');
  const ev = jsonEvents(r.stdout);
  if (r.code !== 0) throw new Error(`up failed (${r.code}): ${ev.find((e) => e.event === 'error')?.message ?? r.stderr}`);
  return { run: ev.at(-1)!.ms, wall: r.ms, phases: new Map(ev.filter((e) => e.event === 'phase.end').map((e) => [e.phase as string, e.ms as number])) };
}

async function down(inv: string, etcd: boolean): Promise<void> {
  const d = await flanprov('down', '--yes', '-i', inv, ...(etcd ? ['--etcd', '--purge'] : []));
  if (d.code !== 0) throw new Error(`down failed: ${d.stdout.slice(-800)}`);
}

const secs = (ms: number): string => (ms / 1000).toFixed(2);
const etcdMs = (t: Timed): number => [...t.phases].filter(([p]) => p.startsWith('etcd:')).reduce((a, [, ms]) => a + ms, 0);

async function main(): Promise<void> {
  const sizes = (process.argv[2] ?? '3,10').split(',').map(Number);
  const rounds = Number(process.argv[3] ?? 3);
  for (const n of sizes) {
    const lab = await Lab.up(`bet${n}`, ['--hosts', String(n)]);
    try {
      const managed = writeManaged(lab, lab.hosts.slice(0, 3).map((h) => h.name));
      const plain: Timed[] = [];
      const withEtcd: Timed[] = [];
      let noChange: Timed | undefined;
      for (let i = 0; i < rounds; i++) {
        plain.push(await timeUp(lab.inventory));
        await down(lab.inventory, false);
        withEtcd.push(await timeUp(managed));
        const nc = await timeUp(managed);
        if (!noChange || nc.run < noChange.run) noChange = nc;
        await down(managed, true);
        rmSync(pkiDirOf(lab), { recursive: true, force: true }); // from nothing: a new CA and certificates each round
      }
      const best = (ts: Timed[]): Timed => ts.reduce((a, b) => (a.run < b.run ? a : b));
      const p = best(plain);
      const e = best(withEtcd);
      console.log(`${n} hosts, 3 etcd members: up from nothing without etcd provisioning ${secs(p.run)} s (runs ${plain.map((t) => secs(t.run)).join(' / ')}), ` +
        `with it ${secs(e.run)} s (runs ${withEtcd.map((t) => secs(t.run)).join(' / ')}): +${secs(e.run - p.run)} s (best of ${rounds} each)`);
      console.log(`  etcd phases in the best run: ${[...e.phases].filter(([ph]) => ph.startsWith('etcd:')).map(([ph, ms]) => `${ph.slice(6)} ${ms}`).join(', ')} ms (sum ${secs(etcdMs(e))} s)`);
      console.log(`  best with etcd: ${[...e.phases].map(([ph, ms]) => `${ph} ${ms}`).join(', ')}`);
      console.log(`  no-change up with etcd, best of ${rounds}: ${secs(noChange!.run)} s (process ${secs(noChange!.wall)} s); etcd phases ${secs(etcdMs(noChange!))} s`);
    } finally {
      await lab.down();
    }
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
