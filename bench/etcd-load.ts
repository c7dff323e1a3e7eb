/**
 * What the CLI's etcd client costs a run (issue 12.5; prints figures, never pass/fail): in a fresh node
 * process per run, the CPU time (user + system) and wall time of
 *   load  — require() of the etcd3 module (node_modules' etcd3: grpc-js, proto-loader parsing rpc.proto;
 *           or the build's dist/etcd3.cjs: one file, the service definitions embedded)
 *   open  — new Etcd3 plus the first calls the CLI makes (Maintenance.Status, KV.Range, Cluster.MemberList)
 *           against an etcd this bench starts on loopback
 * The modules are run in turns (A B A B …) so a change in the machine's load hits both alike; medians and
 * the load average are printed.
 * Usage: node --import tsx bench/etcd-load.ts [--runs N] [MODULE …]   (default: etcd3 dist/etcd3.cjs)
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = join(__dirname, '..');
const argv = process.argv.slice(2);
const runsAt = argv.indexOf('--runs');
const runs = runsAt >= 0 ? Number(argv.splice(runsAt, 2)[1]) : 15;
const modules = argv.length ? argv : ['etcd3', 'dist/etcd3.cjs'];
const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');

/** the child: times require(MODULE), then the client's first calls; prints one JSON line */
const CHILD = `
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const c0 = cpu(), w0 = performance.now();
const { Etcd3 } = require(process.env.BENCH_MODULE);
const c1 = cpu(), w1 = performance.now();
(async () => {
  const client = new Etcd3({ hosts: process.env.BENCH_ETCD });
  await client.maintenance.status();
  await client.kv.range({ key: Buffer.from('bench') });
  await client.cluster.memberList({});
  const c2 = cpu(), w2 = performance.now();
  client.close();
  console.log(JSON.stringify({ loadCpu: c1 - c0, loadWall: w1 - w0, openCpu: c2 - c1, openWall: w2 - w1 }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? res(a.port) : rej(new Error('no port'))));
    });
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const paths = modules.map((m) => (m.startsWith('.') || m.includes('/') ? resolve(ROOT, m) : m));
  for (const p of paths) if (p.startsWith('/') && !existsSync(p)) throw new Error(`${p} missing: npm run build first`);
  const dir = mkdtempSync(join(tmpdir(), 'flanprov-bench-etcd-'));
  const [cport, pport] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${cport}`;
  const etcd = spawn('etcd', ['--name', 'bench', '--data-dir', join(dir, 'data'), '--listen-client-urls', url, '--advertise-client-urls', url,
    '--listen-peer-urls', `http://127.0.0.1:${pport}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${pport}`,
    '--initial-cluster', `bench=http://127.0.0.1:${pport}`, '--log-level', 'error'], { stdio: 'ignore' });
  try {
    for (let i = 0; ; i++) {
      if (spawnSync('etcdctl', ['--endpoints', url, 'endpoint', 'health'], { stdio: 'ignore' }).status === 0) break;
      if (i > 100) throw new Error('etcd did not start');
      await new Promise((r) => setTimeout(r, 100));
    }
    const one = (mod: string): Record<string, number> => {
      const r = spawnSync(process.execPath, ['-e', CHILD], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, BENCH_MODULE: mod, BENCH_ETCD: url } });
      if (r.status !== 0) throw new Error(`${mod}: ${r.stderr}`);
      return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, number>;
    };
    for (const p of paths) one(p); // warm the page cache
    console.log(`${runs} runs each, in turns; load average before: ${load()}`);
    const got = new Map<string, Record<string, number>[]>(paths.map((p) => [p, []]));
    for (let i = 0; i < runs; i++) for (const p of paths) got.get(p)!.push(one(p));
    for (const [p, rs] of got) {
      const m = (k: string): string => median(rs.map((r) => r[k]!)).toFixed(0).padStart(4);
      const range = (k: string): string => `${Math.min(...rs.map((r) => r[k]!)).toFixed(0)}-${Math.max(...rs.map((r) => r[k]!)).toFixed(0)}`;
      console.log(`${(p.startsWith('/') ? p.slice(ROOT.length + 1) : p).padEnd(16)} load: CPU ${m('loadCpu')} ms (${range('loadCpu')}), wall ${m('loadWall')} ms;` +
        `  open + 3 calls: CPU ${m('openCpu')} ms (${range('openCpu')}), wall ${m('openWall')} ms  (medians)`);
    }
    console.log(`load average after: ${load()}`);
  } finally {
    etcd.kill();
    await new Promise((r) => etcd.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: Error) => { console.error(e.message); process.exit(1); });
