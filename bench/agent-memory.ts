/**
 * Where the agent's memory goes (prints, never pass/fail): idle and with 1,000 peers, the kernel's view
 * (/proc/<pid>/status: RssAnon = private memory, RssFile = mapped pages of the executable) next to V8's
 * (process.memoryUsage() from GET /status).
 * Usage: node --import tsx bench/agent-memory.ts [--binary [path]] [--env NAME=VALUE ...] [--cold]
 *   --cold   drop the executable from the page cache first (its RssFile depends on it: see agent-figures)
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { ROOT, Testbed, sh, sleep, waitFor } from '../test/integration/agent-harness.js';

const argv = process.argv.slice(2);
const binIdx = argv.indexOf('--binary');
const binPath = binIdx >= 0 ? (argv[binIdx + 1] && !argv[binIdx + 1]!.startsWith('-') ? argv[binIdx + 1]! : join(ROOT, 'dist/flanneld')) : '';
const env: Record<string, string> = {};
argv.forEach((a, i) => {
  if (a === '--env') {
    const [k, ...v] = argv[i + 1]!.split('=');
    env[k!] = v.join('=');
  }
});

const lease = (i: number) => {
  const mac = `0e:2a:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
  return `{"PublicIP":"172.31.${(i >> 8) & 255}.${i & 255}","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"${mac}"}}`;
};

function report(tag: string, pid: number, ns: string): void {
  const st = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => (Number(new RegExp(`${k}:\\s+(\\d+)`).exec(st)?.[1] ?? NaN) / 1024).toFixed(1);
  const s = JSON.parse(sh(['ip', 'netns', 'exec', ns, 'curl', '-s', 'http://127.0.0.1:8471/status'])) as { memoryMB: Record<string, number> };
  const m = Object.entries(s.memoryMB).map(([k, v]) => `${k} ${v}`).join(', ');
  if (argv.includes('--smaps')) console.log(smapsSummary(pid));
  console.log(`${tag}: VmRSS ${kb('VmRSS')} MB = anon ${kb('RssAnon')} + file ${kb('RssFile')}; threads ${/Threads:\s+(\d+)/.exec(st)![1]}; V8/node: ${m}`);
}

/** Resident anonymous memory by kind of mapping: malloc's main heap, V8 heap pages, other anonymous. */
function smapsSummary(pid: number): string {
  const out = new Map<string, number>();
  let kind = '';
  for (const l of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(l);
    if (m) {
      const size = (parseInt(m[2]!, 16) - parseInt(m[1]!, 16)) / 1024;
      const name = m[3]!;
      kind = name ? (name.startsWith('/') ? `file ${name.replace(/^.*\//, '')}` : name) : size >= 60 * 1024 ? 'anon >=60MB (malloc arenas / V8 reservations)' : `anon ${size >= 8192 ? '8MB+ (stacks?)' : size >= 256 ? '256KB+' : '<256KB'}`;
      continue;
    }
    const r = /^Rss:\s+(\d+)/.exec(l);
    if (r) out.set(kind, (out.get(kind) ?? 0) + Number(r[1]));
  }
  return [...out].filter(([, v]) => v >= 256).sort((a, b) => b[1] - a[1]).map(([k, v]) => `    ${(v / 1024).toFixed(1).padStart(6)} MB  ${k}`).join('\n');
}

async function main(): Promise<void> {
  const tb = new Testbed();
  try {
    await tb.setup();
    if (binPath) tb.agentBin = binPath;
    if (binPath && argv.includes('--cold')) sh(['dd', `if=${binPath}`, 'iflag=nocache', 'count=0', 'status=none']);
    tb.startEtcd();
    const h = tb.addHost();
    await tb.waitEtcd();
    tb.putConfig('{"Network":"10.192.0.0/12","SubnetLen":24,"Backend":{"Type":"vxlan"}}');
    for (const [k, v] of Object.entries(env)) process.env[k] = v;
    const agent = tb.startAgent(h, ['-reconcile-interval=10', '-healthz-ip=127.0.0.1', '-healthz-port=8471']);
    await waitFor('ready', () => agent.log().includes('flannel is ready'), 10_000, 10);
    console.log(`agent ${binPath || 'node + bundle'}${Object.keys(env).length ? ` env ${JSON.stringify(env)}` : ''}; load average ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    await sleep(3000);
    report('idle', agent.pid, h.ns);
    for (let b = 0; b < 10; b++) {
      const puts: string[] = [];
      for (let i = b * 100; i < (b + 1) * 100; i++) puts.push(`put ${tb.prefix}/subnets/10.${193 + (i >> 8)}.${i & 255}.0-24 ${lease(1000 + i)}`);
      sh(tb.etcdctlArgv(['txn']), `\n${puts.join('\n')}\n\n\n`);
    }
    const count = () => Number(sh(['sh', '-c', `ip -n ${h.ns} route show dev flannel.1 | wc -l`]).trim());
    await waitFor('1000 routes', () => count() >= 1000, 60_000, 20);
    await sleep(3000);
    report('1,000 peers', agent.pid, h.ns);
    await sleep(12_000); // a full reconcile (-reconcile-interval=10) has run
    report('1,000 peers, after a full reconcile', agent.pid, h.ns);
    if (argv.includes('--log')) console.log(agent.log().split('\n').filter((l) => l.startsWith('SPACES')).join('\n'));
    await tb.kill(agent, 'SIGTERM');
  } finally {
    await tb.cleanup();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
