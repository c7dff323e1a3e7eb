/**
 * Bench: traffic lost during `flanprov switch-backend`, each direction, at 3 and 10 hosts. Prints
 * figures (never passes/fails): per direction the packets lost, the longest gap of any pair, the worst
 * pair, how long the agents took to follow and the whole command's time. Targets (issue 5): longest gap
 * ≤ 1 s in every pair and direction; aim: zero loss.
 *
 * Per host count: a fresh l2 lab, `flanprov up`, then `switch-backend host-gw --measure --raise-mtu` and
 * `switch-backend vxlan --measure` (pings every 10 ms, both directions of every pair), then `lab down`.
 * Run as root: node --import tsx bench/switch-loss.ts [--hosts 3,10] [--interval 10] [--timeout 120s]
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
const LAB = 'bswl';
const arg = (name: string, d: string): string => {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : d;
};
const hostCounts = arg('--hosts', '3,10').split(',').map(Number);
const interval = arg('--interval', '10');
const timeout = arg('--timeout', '120s');

interface Ev { event: string; [k: string]: any }

function cli(args: string[], timeoutMs = 600_000): { code: number; out: string; err: string; s: number } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], { encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20 });
  return { code: r.status ?? 1, out: r.stdout, err: r.stderr, s: Number(process.hrtime.bigint() - t0) / 1e9 };
}

function events(out: string): Ev[] {
  return out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Ev);
}

function report(n: number, label: string, r: ReturnType<typeof cli>): void {
  const ev = events(r.out);
  const sum = ev.find((e) => e.event === 'measure.summary');
  const pairs = ev.filter((e) => e.event === 'measure.pair');
  const res = ev.find((e) => e.event === 'switch.result');
  const waited = ev.find((e) => e.event === 'phase.end' && e.phase === 'Wait for agents');
  const worst = [...pairs].sort((a, b) => b.longestGapMs - a.longestGapMs)[0];
  const lossy = pairs.filter((p) => p.lost > 0).length;
  console.log(`${String(n).padStart(2)} hosts  ${label.padEnd(16)}  exit ${r.code}  ${res?.outcome ?? (ev.find((e) => e.event === 'error')?.message.split('\n')[0] ?? '?')}`);
  if (!sum) {
    console.log(`           no measurement (${r.err.trim().split('\n')[0] ?? ''})`);
    return;
  }
  console.log(`           lost ${sum.totalLost} of ${sum.totalSent} packets in ${pairs.length} directions (${lossy} with loss); longest gap ${Number(sum.longestGapMs).toFixed(0)} ms${worst && worst.lost ? ` (${worst.from} → ${worst.to}, ${worst.lost} lost)` : ''}; max silence ${Math.max(...pairs.map((p) => p.maxSilenceMs)).toFixed(0)} ms`);
  console.log(`           ${res?.outcome === 'switched' ? 'agents followed in' : 'agents did not follow; waiting and rolling back took'} ${waited ? (waited.ms / 1000).toFixed(1) : '?'} s; command ${r.s.toFixed(1)} s; gap ≤ 1 s everywhere: ${sum.withinTarget ? 'yes' : 'NO'}`);
}

function main(): void {
  if (process.getuid?.() !== 0) throw new Error('run as root');
  console.log(`switch-backend loss (pings every ${interval} ms, both directions of every pair)`);
  for (const n of hostCounts) {
    cli(['lab', 'down', '--name', LAB]);
    try {
      const lab = cli(['lab', 'up', '--name', LAB, '--hosts', String(n)]);
      if (lab.code !== 0) throw new Error(`lab up failed:\n${lab.out}\n${lab.err}`);
      const inv = `/var/lib/flanprov/labs/${LAB}/inventory.yml`;
      const up = cli(['up', '-i', inv]);
      if (up.code !== 0) throw new Error(`up failed:\n${up.out}\n${up.err}`);
      const common = ['-i', inv, '--measure', '--measure-interval', interval, '--timeout', timeout, '--output', 'json'];
      const a = cli(['switch-backend', 'host-gw', ...common, '--raise-mtu']);
      report(n, 'vxlan → host-gw', a);
      if (a.code !== 0) continue;
      report(n, 'host-gw → vxlan', cli(['switch-backend', 'vxlan', ...common]));
    } finally {
      cli(['lab', 'down', '--name', LAB]);
    }
  }
}

main();
