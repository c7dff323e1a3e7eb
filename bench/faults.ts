/**
 * Fault report (issue 13.6): on a 3-host vxlan lab, containers' network namespaces ping each other every
 * 10 ms in every direction (src/measure) while one fault is injected at a time; per fault the packets
 * sent and lost and the longest gap are printed, and the cluster must be whole afterwards (`flanprov check`).
 *
 *   node --import tsx bench/faults.ts [--name NAME] [--keep]
 *
 * Faults: the agent killed (-9) on each host in turn; etcd frozen (SIGSTOP) 30 s then thawed; etcd killed
 * and restarted by the lab; `up` of a changed agent killed mid-push (SIGKILL); a host rebooted from inside
 * (only the two other hosts are measured: the rebooted one has no data path while it boots).
 */
import { spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadInventory } from '../src/inventory/load.js';
import { connectHost } from '../src/remote/connection.js';
import type { RemoteHost } from '../src/remote/types.js';
import { parseSubnetEnv } from '../src/network/subnet-env.js';
import { Measurement, type MeasureResult } from '../src/measure/session.js';

const ROOT = join(__dirname, '..');
const LABS = '/var/lib/flanprov/labs';
const args = process.argv.slice(2);
const name = args.includes('--name') ? args[args.indexOf('--name') + 1]! : 'bflt';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function run(cmd: string, argv: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((res) => {
    const p = spawn(cmd, argv, { env: { ...process.env, ...env } });
    let out = '';
    p.stdout.on('data', (b) => (out += b)); p.stderr.on('data', (b) => (out += b));
    p.on('exit', (code) => res({ code, out }));
  });
}
const flanprov = (...a: string[]) => run(process.execPath, [join(ROOT, 'dist', 'flanprov.cjs'), ...a]);

interface Row { fault: string; sent: number; lost: number; longestGapMs: number; maxSilenceMs: number; after: string }

async function main(): Promise<void> {
  await flanprov('lab', 'down', '--name', name);
  const lab = await flanprov('lab', 'up', '--name', name, '--hosts', '3');
  if (lab.code !== 0) throw new Error(`lab up failed:\n${lab.out}`);
  const inventory = join(LABS, name, 'inventory.yml');
  const state = () => JSON.parse(readFileSync(join(LABS, name, 'state.json'), 'utf8')) as { etcd: { pid: number } };
  const up = await flanprov('up', inventory);
  if (up.code !== 0) throw new Error(`up failed:\n${up.out}`);
  const spec = loadInventory([inventory]);
  const remotes = await Promise.all(spec.hosts.map((h) => connectHost(h.name, h.connection)));
  const subnetOf = async (r: RemoteHost) => parseSubnetEnv((await r.run('cat /run/flannel/subnet.env')).stdout).subnet!;
  const rows: Row[] = [];

  async function measured(fault: string, hosts: RemoteHost[], inject: () => Promise<void>, settleMs = 3000): Promise<void> {
    const subnets = await Promise.all(hosts.map(subnetOf));
    const m = await Measurement.start(hosts.map((r, i) => ({ name: r.name, remote: r, subnet: subnets[i]! })), { intervalMs: 10, maxSeconds: 600 });
    let res: MeasureResult;
    try {
      await sleep(1000);
      await inject();
      await sleep(settleMs);
    } finally {
      res = await m.stop();
    }
    const check = await flanprov('check', '-i', inventory);
    const maxSilenceMs = Math.round(Math.max(0, ...res.pairs.map((p) => p.maxSilenceMs)));
    rows.push({ fault, sent: res.totalSent, lost: res.totalLost, longestGapMs: Math.round(res.worst?.longestGapMs ?? 0), maxSilenceMs, after: check.code === 0 ? 'check green' : `check exit ${check.code}` });
    console.log(`# ${fault}: ${res.totalLost} of ${res.totalSent} lost, longest gap ${Math.round(res.worst?.longestGapMs ?? 0)} ms, longest silence ${maxSilenceMs} ms; ${rows.at(-1)!.after}`);
  }

  for (const r of remotes) {
    await measured(`agent kill -9 on ${r.name}`, remotes, async () => {
      await r.run('systemctl kill -s KILL flanneld.service');
      for (let i = 0; i < 100; i++) { if ((await r.run('systemctl is-active -q flanneld && exec 3<>/dev/tcp/127.0.0.1/8471')).code === 0) break; await sleep(100); }
    });
  }
  await measured('etcd frozen (SIGSTOP) 30 s, then thawed', remotes, async () => {
    process.kill(state().etcd.pid, 'SIGSTOP');
    await sleep(30_000);
    process.kill(state().etcd.pid, 'SIGCONT');
  }, 5000);
  await measured('a lease-holding agent restarted while etcd is frozen', remotes, async () => {
    process.kill(state().etcd.pid, 'SIGSTOP');
    await remotes[0]!.run('systemctl restart --no-block flanneld.service');
    await sleep(10_000);
    process.kill(state().etcd.pid, 'SIGCONT');
  }, 8000);
  const newer = join(mkdtempSync(join(tmpdir(), 'flanprov-bench-')), 'flanneld');
  copyFileSync(join(ROOT, 'dist', 'flanneld'), newer);
  appendFileSync(newer, Buffer.alloc(1 << 20, 0x5a));
  await measured('up of a newer agent killed mid-push (SIGKILL)', remotes, async () => {
    const p = spawn(process.execPath, [join(ROOT, 'dist', 'flanprov.cjs'), 'up', inventory], { env: { ...process.env, FLANPROV_AGENT: newer }, stdio: 'ignore' });
    for (let i = 0; i < 2000; i++) {
      if ((await remotes[0]!.run('ls /usr/local/bin/.flanneld.flanprov-* >/dev/null 2>&1')).code === 0) break;
      await sleep(5);
    }
    p.kill('SIGKILL');
  });
  const back = await flanprov('up', inventory);
  if (back.code !== 0) throw new Error(`up after the killed push failed:\n${back.out}`);
  await measured('h2 rebooted from inside (h1 <-> h3 measured)', [remotes[0]!, remotes[2]!], async () => {
    await remotes[1]!.run('systemctl reboot').catch(() => undefined);
    for (let i = 0; i < 600; i++) {
      const c = await flanprov('check', '-i', inventory, '--limit', 'h2');
      if (c.code === 0) break;
      await sleep(500);
    }
  });

  console.log('\nfault | packets sent | lost | longest gap (lost run) | longest silence | afterwards');
  console.log('---|---|---|---|---|---');
  for (const r of rows) console.log(`${r.fault} | ${r.sent.toLocaleString('en')} | ${r.lost} | ${r.longestGapMs} ms | ${r.maxSilenceMs} ms | ${r.after}`);
  await Promise.allSettled(remotes.map((r) => r.close()));
  if (!args.includes('--keep')) await flanprov('lab', 'down', '--name', name);
}

main().catch((e: Error) => { console.error(e.message); process.exitCode = 1; });
