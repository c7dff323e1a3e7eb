/**
 * Agent figures on a real kernel + etcd (prints, never pass/fail):
 *   start-to-ready (fresh allocation and restart with lease reuse), peer-lease-to-route latency
 *   p50/p99 (etcd put committed -> route seen by `ip monitor`), RSS idle and with 1,000 peers,
 *   and the time the agent takes to program 1,000 peers arriving from etcd.
 * Usage: node --import tsx bench/agent-figures.ts [--binary [path, default dist/flanneld]]
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { ROOT, Testbed, sh, sleep, waitFor, type AgentProc, type Host } from '../test/integration/agent-harness.js';

const binIdx = process.argv.indexOf('--binary');
const useBinary = binIdx >= 0;
const binPath = useBinary && process.argv[binIdx + 1] && !process.argv[binIdx + 1]!.startsWith('-') ? process.argv[binIdx + 1]! : join(ROOT, 'dist/flanneld');
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
/** VmRSS in MB, with its private (RssAnon) and file-mapped (RssFile: the executable's pages) parts. */
const rssMb = (pid: number) => {
  const st = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(st)?.[1] ?? NaN) / 1024;
  return { toFixed: (d: number) => `${kb('VmRSS').toFixed(d)} MB (anon ${kb('RssAnon').toFixed(d)} + file ${kb('RssFile').toFixed(d)})` };
};
const lease = (i: number) => {
  const mac = `0e:2a:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
  return `{"PublicIP":"172.31.${(i >> 8) & 255}.${i & 255}","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"${mac}"}}`;
};

async function main(): Promise<void> {
  const tb = new Testbed();
  try {
    await tb.setup();
    if (useBinary) {
      if (!existsSync(binPath)) throw new Error(`${binPath} missing: npm run build`);
      tb.agentBin = binPath;
    }
    tb.startEtcd();
    const h = tb.addHost();
    await tb.waitEtcd();
    tb.putConfig('{"Network":"10.192.0.0/12","SubnetLen":24,"Backend":{"Type":"vxlan"}}');
    const start = (host: Host): AgentProc => tb.startAgent(host, ['-reconcile-interval=10']);

    // 1. start-to-ready: the moment the ready line arrives on stderr (not a polling step), 1 fresh + 6 restarts
    const times: number[] = [];
    const selfReported: number[] = [];
    let agent!: AgentProc;
    let warmRss = '';
    for (let i = 0; i < 7; i++) {
      // The executable's RssFile depends on how its pages sit in the page cache: read sequentially (cp,
      // sha256sum — flanprov up hashes the installed agent) they are large folios, and the agent maps
      // whole folios (+15-20 MB); faulted in from disk (after a reboot, or written by gzip -dc/cat) they
      // are small. Run 6 starts with the file read whole ("warm"), run 7, the one measured below, with it
      // dropped from the page cache ("cold").
      if (useBinary && i === 5) sh(['sh', '-c', `dd if=${binPath} iflag=nocache count=0 status=none && cat ${binPath} > /dev/null`]);
      if (useBinary && i === 6) sh(['dd', `if=${binPath}`, 'iflag=nocache', 'count=0', 'status=none']);
      const t0 = performance.now();
      agent = start(h);
      const readyAt = await new Promise<number>((resolve, reject) => {
        agent.proc.stderr!.on('data', () => { if (agent.log().includes('flannel is ready')) resolve(performance.now()); });
        agent.proc.once('exit', (c) => reject(new Error(`agent exited ${c}:\n${agent.log()}`)));
      });
      times.push(readyAt - t0);
      const m = /flannel is ready .*, (\d+) ms after process start\)/.exec(agent.log());
      if (m) selfReported.push(Number(m[1]));
      if (useBinary && i === 5) {
        await sleep(3000);
        warmRss = rssMb(agent.pid).toFixed(1);
      }
      if (i < 6) await tb.kill(agent, 'SIGTERM');
    }
    const restarts = times.slice(1);
    console.log(`agent (${useBinary ? `single executable ${binPath}` : 'node + bundle'}); load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${cpus().length} CPUs`);
    console.log(`start-to-ready: fresh ${times[0]!.toFixed(0)} ms; restart median ${pct(restarts, 50).toFixed(0)} ms, min ${Math.min(...restarts).toFixed(0)} ms (${restarts.map((t) => t.toFixed(0)).join(' / ')}) — process spawn -> subnet.env written + peers programmed; the agent's own count from process start: ${selfReported.join(' / ')} ms`);
    await sleep(3000);
    console.log(`RSS idle (0 peers): ${rssMb(agent.pid).toFixed(1)}${useBinary ? ` — executable cold in the page cache; read whole beforehand: ${warmRss}` : ''}`);

    // 2. peer-lease-to-route latency
    const mon = spawn('ip', ['-n', h.ns, 'monitor', 'route'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const seen = new Map<string, number>();
    let buf = '';
    mon.stdout.on('data', (b: Buffer) => {
      const now = performance.now();
      buf += b.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) {
        const m = /^(10\.\d+\.\d+\.0\/24) via .* dev flannel\.1/.exec(l);
        if (m && !seen.has(m[1]!)) seen.set(m[1]!, now);
      }
    });
    await sleep(300);
    const lat: number[] = [];
    for (let i = 1; i <= 40; i++) {
      const sn = `10.199.${i}.0/24`;
      tb.etcdctl(['put', `${tb.prefix}/subnets/${sn.replace('/', '-')}`, lease(i)]);
      const t = performance.now();
      await waitFor(`route ${sn}`, () => seen.has(sn), 5000, 1);
      lat.push(seen.get(sn)! - t);
    }
    mon.kill('SIGTERM');
    console.log(`peer-lease-to-route (etcd put committed -> route in kernel, n=${lat.length}): p50 ${pct(lat, 50).toFixed(1)} ms, p99 ${pct(lat, 99).toFixed(1)} ms`);
    tb.etcdctl(['del', '--prefix', `${tb.prefix}/subnets/10.199.`]);

    // 3. 1,000 peers arriving from etcd (txns of 100 puts), time until all routes exist, then RSS
    const t1 = performance.now();
    for (let b = 0; b < 10; b++) {
      const puts: string[] = [];
      for (let i = b * 100; i < (b + 1) * 100; i++) puts.push(`put ${tb.prefix}/subnets/${netFor(256 + i)}-24 ${lease(1000 + i)}`);
      sh(tb.etcdctlArgv(['txn']), `\n${puts.join('\n')}\n\n\n`);
    }
    const committed = performance.now();
    const count = () => Number(sh(['sh', '-c', `ip -n ${h.ns} route show dev flannel.1 | wc -l`]).trim());
    await waitFor('1000 routes', () => count() >= 1000, 60_000, 20).catch((e: Error) => {
      console.log(`routes: ${count()}; agent log tail:\n${agent.log().split('\n').slice(-12).join('\n')}`);
      throw e;
    });
    const done = performance.now();
    console.log(`1,000 peers via etcd: written in ${(committed - t1).toFixed(0)} ms, all routes in kernel ${(done - committed).toFixed(0)} ms after the last commit`);
    await sleep(3000);
    console.log(`RSS with 1,000 peers: ${rssMb(agent.pid).toFixed(1)}`);
    await tb.kill(agent, 'SIGTERM');
  } finally {
    await tb.cleanup();
  }
}

/** The n-th /24 of the bench Network 10.192.0.0/12. */
function netFor(n: number): string {
  return `10.${192 + (n >> 8)}.${n & 255}.0`;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
