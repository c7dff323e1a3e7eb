/**
 * Bench: the lab. Prints figures, never passes/fails on time.
 *   - root filesystem build time (built now only when not cached; else the recorded figure)
 *   - `flanprov lab up` for 3 and 10 hosts (--sizes 3,10,20,30) with the rootfs cached (wall time of the
 *     CLI, as a user sees it); --wan RTT,RATE is passed to `lab up`
 *   - memory per host: PSS of every process in the guest's PID namespace (systemd, journald, sshd,
 *     dockerd, containerd, ...) and the drop of MemAvailable divided by the host count
 *   - `flanprov lab down`
 *   - the machine's memory with every size up: MemAvailable before and after (the 30-host question)
 * Run as root: node --import tsx bench/lab-up.ts [--runs N] [--sizes 3,10,20,30] [--wan 50ms,100mbit]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { cachedRootfs, ensureRootfs } from '../src/lab/rootfs.js';

const ROOT = join(__dirname, '..');
const opt = (name: string): string | undefined => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const runs = Number(opt('--runs')) || 2;
const sizes = (opt('--sizes') ?? '3,10').split(',').map(Number);
const wan = opt('--wan');

function cli(...args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], { encoding: 'utf8' });
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  if (r.status !== 0) throw new Error(`flanprov ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return s;
}

function memAvailableMB(): number {
  return Number(/^MemAvailable:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))![1]) / 1024;
}

/** Sum of PSS (kB) of all processes sharing init's PID namespace. */
function guestPssMB(initPid: number): number {
  const ns = readlinkSync(`/proc/${initPid}/ns/pid`);
  let kb = 0;
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (readlinkSync(`/proc/${e}/ns/pid`) !== ns) continue;
      kb += Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${e}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
    } catch {
      /* gone */
    }
  }
  return kb / 1024;
}

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
const f1 = (n: number): string => n.toFixed(1);

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('run as root');
  const hit = cachedRootfs();
  if (hit) console.log(`rootfs build: cached (${hit.dir}); recorded build time ${f1(hit.buildSeconds)} s — delete the cache dir to measure again`);
  else {
    const t0 = Date.now();
    await ensureRootfs();
    console.log(`rootfs build: ${f1((Date.now() - t0) / 1000)} s (debootstrap from the Debian mirror, network-bound)`);
  }
  const rootfsSize = execFileSync('du', ['-sm', cachedRootfs()!.rootfs], { encoding: 'utf8' }).split('\t')[0];
  console.log(`rootfs size: ${rootfsSize} MB`);

  if (wan) console.log(`lab up with --wan ${wan}`);
  for (const n of sizes) {
    const name = `${process.env.FLANPROV_E2E_LAB_PREFIX ?? ''}bl${n}`;
    cli('lab', 'down', '--name', name);
    const ups: number[] = [];
    const downs: number[] = [];
    let pss: number[] = [];
    let availDrop = 0;
    let availBefore = 0;
    let availUp = 0;
    for (let i = 0; i < runs; i++) {
      execFileSync('sync');
      const before = memAvailableMB();
      ups.push(cli('lab', 'up', '--name', name, '--hosts', String(n), ...(wan ? ['--wan', wan] : [])));
      if (i === 0) {
        await new Promise((r) => setTimeout(r, 3000)); // let the guests settle to idle
        availUp = memAvailableMB();
        availBefore = before;
        availDrop = (before - availUp) / n;
        const st = JSON.parse(readFileSync(`/var/lib/flanprov/labs/${name}/state.json`, 'utf8')) as { hosts: Array<{ initPid: number }> };
        pss = st.hosts.map((h) => guestPssMB(h.initPid));
      }
      downs.push(cli('lab', 'down', '--name', name));
    }
    console.log(`lab up   ${String(n).padStart(2)} hosts: median ${f1(median(ups))} s  (runs: ${ups.map(f1).join(', ')}; target ${n <= 3 ? 10 : 30} s)`);
    console.log(`memory with ${n} hosts up (idle): MemAvailable ${f1(availBefore)} MB before, ${f1(availUp)} MB with the lab (${f1(availBefore - availUp)} MB used)`);
    console.log(`lab down ${String(n).padStart(2)} hosts: median ${f1(median(downs))} s  (runs: ${downs.map(f1).join(', ')}; target 10 s)`);
    console.log(`memory per host (${n} hosts, idle): PSS of guest processes median ${f1(median(pss))} MB (min ${f1(Math.min(...pss))}, max ${f1(Math.max(...pss))}); MemAvailable drop ${f1(availDrop)} MB/host (incl. etcd, page cache)`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
