/**
 * A container start with `podman run` on a `flannel_runtime: cni` host, with and without flannel: a
 * 1-host Podman lab, `flanprov up`, then on the host (timed there, no SSH in the figures) N runs each of
 *   podman run --rm --network flannel flanprov-probe:1 true   (our plugin → bridge → host-local)
 *   podman run --rm --network podman  flanprov-probe:1 true   (Podman's default CNI network: bridge → host-local)
 *   podman run --rm --network none    flanprov-probe:1 true   (no network: the floor)
 * interleaved, so a busy machine hits all three alike. Prints median and p95 per kind; never pass/fail.
 *
 *   node --import tsx bench/cni-podman.ts [runs=20]
 */
import { Lab, flanprov } from '../test/e2e/up-helpers.js';

const RUNS = Number(process.argv[2] ?? 20);
const KINDS = ['flannel', 'podman', 'none'] as const;

/** One round: each kind once (timed on the host in µs). Lab.ssh allows 60 s a call, so rounds go a few at a time. */
const timer = `export LC_ALL=C
t() { s=$(date +%s%N); podman run --rm --network "$1" flanprov-probe:1 true >/dev/null 2>&1 || { echo "fail $1"; return; }; e=$(date +%s%N); echo "$1 $(( (e - s) / 1000 ))"; }`;
const rounds = (n: number) => `${timer}\nfor i in $(seq 1 ${n}); do for k in ${KINDS.join(' ')}; do t "$k"; done; done\n`;
const PER_CALL = 4;

const q = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))]!;

async function main(): Promise<void> {
  const lab = await Lab.up('bpod', ['--hosts', '1', '--runtime', 'podman']);
  try {
    const up = await flanprov('up', '-i', lab.inventory);
    if (up.code !== 0) throw new Error(`up failed: ${up.stdout.slice(-800)} ${up.stderr}`);
    await lab.ssh('h1', rounds(1)); // warm: image layers and binaries in the page cache
    let out = '';
    for (let done = 0; done < RUNS; done += PER_CALL) {
      const r = await lab.ssh('h1', rounds(Math.min(PER_CALL, RUNS - done)));
      if (r.code !== 0) throw new Error(`on h1 (exit ${r.code}): ${r.stderr}`);
      out += r.stdout;
    }
    const by = new Map<string, number[]>(KINDS.map((k) => [k, []]));
    for (const line of out.trim().split('\n')) {
      const [k, us] = line.split(' ');
      if (k === 'fail') throw new Error(`podman run --network ${us} failed`);
      by.get(k!)?.push(Number(us) / 1000);
    }
    console.log(`podman run --rm … true on a Podman lab host, ${RUNS} runs each (interleaved, timed on the host):`);
    for (const [k, ms] of by) console.log(`  --network ${k.padEnd(8)} median ${q(ms, 0.5).toFixed(0)} ms, p95 ${q(ms, 0.95).toFixed(0)} ms`);
    const d = q(by.get('flannel')!, 0.5) - q(by.get('podman')!, 0.5);
    console.log(`  flannel − podman's own bridge network: ${d >= 0 ? '+' : ''}${d.toFixed(0)} ms per container start (median)`);
  } finally {
    await flanprov('down', '--yes', '-i', lab.inventory);
    await lab.down();
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
