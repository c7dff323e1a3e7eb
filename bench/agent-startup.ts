/**
 * Where the agent's start-up time and memory go (prints, never pass/fail), on the real single executable
 * in a lab namespace (issue 12's agent targets: start to ready <= 120 ms, RSS <= 45 MB idle):
 *   1. floors in the same namespace: `true`, `node -e 0`, an empty SEA (the same node with an empty
 *      main), `flanneld -version` (the agent's bundle evaluated up to flag parsing) — wall and CPU time, peak RSS;
 *   2. start-to-ready split into phases from the agent's own log lines (spawn -> "starting": node boot,
 *      SEA blob, main bundle; -> "Created subnet manager": etcd stack loaded, health server; -> "Found
 *      network config": first etcd round trip; -> lease found or allocated (after listing the leases); -> "flannel
 *      is ready": backend, peers, iptables, subnet.env) and the CPU the agent used until ready;
 *   3. memory idle: RSS vs PSS (the executable's pages are file-backed and shared between processes that
 *      map the same file: PSS divides them) with 1 agent, then with 10 agents on 10 hosts.
 * Usage: node --import tsx bench/agent-startup.ts [--binary path] [--rounds N] [--agents N]
 */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { ROOT, Testbed, sleep, type AgentProc } from '../test/integration/agent-harness.js';

const argv = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : dflt;
};
const binPath = opt('--binary', join(ROOT, 'dist/flanneld'));
const rounds = Number(opt('--rounds', '7'));
const agents = Number(opt('--agents', '10'));
const load = () => loadavg().map((x) => x.toFixed(1)).join(' ');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const TICK_MS = 10; // USER_HZ 100

/** Wall (spawn -> exit) and CPU (user+sys of the child, from GNU time) of a command in `ns`. */
function measure(ns: string, cmd: string[]): Promise<{ wall: number; cpu: number; maxRss: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn('ip', ['netns', 'exec', ns, '/usr/bin/time', '-f', 'CPU %U %S %M', ...cmd], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.once('error', reject);
    p.once('exit', () => {
      const wall = performance.now() - t0;
      const m = /CPU (\d+\.\d+) (\d+\.\d+) (\d+)\s*$/.exec(err);
      if (!m) return reject(new Error(`no CPU figure from ${cmd.join(' ')}: ${err}`));
      resolve({ wall, cpu: (Number(m[1]) + Number(m[2])) * 1000, maxRss: Number(m[3]) / 1024 });
    });
  });
}

/** An empty single executable: the same node and sea-config options as scripts/build.mjs, an empty main. */
function buildEmptySea(dir: string): string {
  const main = join(dir, 'empty.cjs');
  writeFileSync(main, '');
  const cfg = join(dir, 'empty-sea.json');
  const blob = join(dir, 'empty.blob');
  writeFileSync(cfg, JSON.stringify({ main, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }));
  execFileSync(process.execPath, ['--experimental-sea-config', cfg], { stdio: 'ignore' });
  const exe = join(dir, 'empty-sea');
  copyFileSync(process.execPath, exe);
  execFileSync(join(ROOT, 'node_modules/.bin/postject'), [exe, 'NODE_SEA_BLOB', blob, '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'], { stdio: 'ignore' });
  // as scripts/build.mjs does: out of the page cache, or its large folios inflate RssFile (see there)
  execFileSync('sync', [exe]);
  execFileSync('dd', [`if=${exe}`, 'iflag=nocache', 'count=0', 'status=none']);
  return exe;
}

/** ms since local midnight of a klog stamp `I1202 20:17:22.123000` */
const stampMs = (line: string) => {
  const m = /^[IWE]\d{4} (\d\d):(\d\d):(\d\d)\.(\d{3})/.exec(line);
  return m ? ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + Number(m[4]) : NaN;
};
const midnightMs = (t: number) => {
  const d = new Date(t);
  return ((d.getHours() * 60 + d.getMinutes()) * 60 + d.getSeconds()) * 1000 + d.getMilliseconds();
};
const PHASES: [string, RegExp][] = [
  ['boot+bundle', / starting$/m],
  ['etcd stack loaded', /Created subnet manager/],
  ['config read', /Found network config/],
  ['lease planned', /Allocated lease|Found lease|reusing|Picking subnet/],
  ['ready', /flannel is ready/],
];

function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_MS; // utime, stime (fields 14, 15)
}

function memory(pid: number): { rss: number; pss: number; pssAnon: number; pssFile: number; rssFile: number } {
  const r = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(r)?.[1] ?? NaN) / 1024;
  const st = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssFile = Number(/RssFile:\s+(\d+)/.exec(st)?.[1] ?? NaN) / 1024;
  return { rss: kb('Rss'), pss: kb('Pss'), pssAnon: kb('Pss_Anon'), pssFile: kb('Pss_File'), rssFile };
}
const fmtMem = (m: ReturnType<typeof memory>) =>
  `RSS ${m.rss.toFixed(1)} MB (file ${m.rssFile.toFixed(1)}), PSS ${m.pss.toFixed(1)} MB (anon ${m.pssAnon.toFixed(1)} + file ${m.pssFile.toFixed(1)})`;

async function main(): Promise<void> {
  if (!existsSync(binPath)) throw new Error(`${binPath} missing: npm run build`);
  const tb = new Testbed();
  try {
    await tb.setup();
    tb.agentBin = binPath;
    tb.startEtcd();
    const h = tb.addHost();
    await tb.waitEtcd();
    tb.putConfig('{"Network":"10.192.0.0/12","SubnetLen":24,"Backend":{"Type":"vxlan"}}');
    console.log(`agent ${binPath}; node ${process.version}; load average ${load()} on ${cpus().length} CPUs`);

    // 1. floors
    const emptySea = buildEmptySea(tb.dir);
    const floors: [string, string[]][] = [
      ['true', ['true']], ['node -e 0', [process.execPath, '-e', '0']], ['empty SEA', [emptySea]], ['flanneld -version', [binPath, '-version']],
    ];
    for (const [name, cmd] of floors) {
      const rs: { wall: number; cpu: number; maxRss: number }[] = [];
      for (let i = 0; i < rounds; i++) rs.push(await measure(h.ns, cmd));
      console.log(`  ${name.padEnd(18)} wall median ${median(rs.map((r) => r.wall)).toFixed(0).padStart(4)} ms, min ${Math.min(...rs.map((r) => r.wall)).toFixed(0).padStart(4)} ms; CPU median ${median(rs.map((r) => r.cpu)).toFixed(0).padStart(4)} ms; peak RSS ${median(rs.map((r) => r.maxRss)).toFixed(1)} MB`);
    }

    // 2. start-to-ready by phase (1 fresh lease, then restarts reusing it)
    const phaseMs: number[][] = PHASES.map(() => []);
    const cpuReady: number[] = [];
    let a!: AgentProc;
    for (let i = 0; i < rounds; i++) {
      const spawnedAt = midnightMs(Date.now());
      a = tb.startAgent(h, ['-reconcile-interval=10']);
      await new Promise<void>((resolve, reject) => {
        a.proc.stderr!.on('data', () => { if (a.log().includes('flannel is ready')) resolve(); });
        a.proc.once('exit', (c) => reject(new Error(`agent exited ${c}:\n${a.log()}`)));
      });
      cpuReady.push(cpuMs(a.pid));
      const lines = a.log().split('\n');
      let prev = spawnedAt;
      PHASES.forEach(([, re], k) => {
        const at = stampMs(lines.find((l) => re.test(l)) ?? '');
        phaseMs[k]!.push(at - prev);
        prev = at;
      });
      if (i < rounds - 1) await tb.kill(a, 'SIGTERM');
    }
    const total = phaseMs[0]!.map((_, i) => phaseMs.reduce((s, p) => s + p[i]!, 0));
    console.log(`start-to-ready (${rounds} starts, the first a fresh lease), median by phase (each from the one before; log stamps, ms resolution):`);
    PHASES.forEach(([name], k) => console.log(`  ${name.padEnd(18)} ${median(phaseMs[k]!).toFixed(0).padStart(4)} ms  (${phaseMs[k]!.join(' / ')})`));
    console.log(`  total              ${median(total).toFixed(0).padStart(4)} ms  (${total.join(' / ')}); CPU used by the agent until ready: median ${median(cpuReady)} ms (${cpuReady.join(' / ')}); load ${load()}`);

    // 3. memory: 1 agent idle, then `agents` agents
    await sleep(3000);
    const one = memory(a.pid);
    console.log(`memory, 1 agent idle: ${fmtMem(one)}`);
    const more: AgentProc[] = [];
    for (let i = 1; i < agents; i++) more.push(tb.startAgent(tb.addHost(), ['-reconcile-interval=10']));
    for (const m of more) await tb.waitReady(m, 60_000);
    await sleep(3000);
    const all = [a, ...more].map((x) => memory(x.pid));
    const avg = (k: keyof ReturnType<typeof memory>) => all.reduce((s, m) => s + m[k], 0) / all.length;
    console.log(`memory, ${agents} agents idle (mean per agent): RSS ${avg('rss').toFixed(1)} MB (file ${avg('rssFile').toFixed(1)}), PSS ${avg('pss').toFixed(1)} MB (anon ${avg('pssAnon').toFixed(1)} + file ${avg('pssFile').toFixed(1)}); all ${agents} together: PSS ${(avg('pss') * agents).toFixed(0)} MB; load ${load()}`);
    for (const m of more) await tb.kill(m, 'SIGTERM');
    await tb.kill(a, 'SIGTERM');
  } finally {
    await tb.cleanup();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
