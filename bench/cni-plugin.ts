/**
 * CNI ADD and DEL latency of the agent binary as flannel's CNI plugin, over N containers (network
 * namespaces), against Debian's bridge plugin called directly with the same delegate config:
 *   own part   our plugin with a stub delegate (a shell script printing a canned result) minus the stub alone;
 *   with bridge  our plugin delegating to Debian's bridge + host-local, vs bridge called directly.
 * Wall time per call (median, p95) as a runtime sees it (spawn to exit), and CPU time per call (user + sys
 * of the finished children, from /proc/self/stat), which a busy machine disturbs less. Runs in its own
 * "host" namespace fpn<id>h (the measuring process runs inside it) with containers fpn<id>c<i>; host-local's store /var/lib/cni/networks/fpn<id>*
 * is removed at the end. Prints figures, never pass/fail.
 *
 *   node --import tsx bench/cni-plugin.ts [containers=100] [--binary dist/flanneld]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CNI_DEBIAN_BIN_DIR, CNI_HOST_LOCAL_DIR } from '../src/network/cni.js';

const args = process.argv.slice(2);
const binAt = args.indexOf('--binary');
const BINARY = resolve(binAt >= 0 ? args.splice(binAt, 2)[1]! : join(__dirname, '..', 'dist', 'flanneld'));
const N = Number(args[0] ?? 100);
/** shared by the outer process and the one it starts in the host namespace */
const ID = process.env.FPN_BENCH_ID ?? `fpn${process.pid % 10000}`;
process.env.FPN_BENCH_ID = ID;
const HOST = `${ID}h`;
const DIR = `/tmp/${ID}`;
const sh = (s: string) => execFileSync('bash', ['-euo', 'pipefail', '-c', s], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
const ns = (i: number) => `${ID}c${i}`;

/** user + sys seconds of all waited-for children so far (clock ticks: 100 per second on Linux). */
function childCpu(): number {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[13]) + Number(f[14])) / 100; // cutime, cstime (fields 16 and 17)
}

interface Series { wall: number[]; cpuPerCall: number }

/** Runs `path` once per container (this process is in the host namespace). */
function calls(path: string, argv0: string, command: string, conf: (i: number) => string, cniPath: string): Series {
  const wall: number[] = [];
  const cpu0 = childCpu();
  for (let i = 0; i < N; i++) {
    const env = { PATH: process.env.PATH!, CNI_COMMAND: command, CNI_CONTAINERID: `${ID}-${i}`, CNI_NETNS: `/run/netns/${ns(i)}`, CNI_IFNAME: 'eth0', CNI_PATH: cniPath };
    const t0 = performance.now();
    const r = spawnSync(path, [], { argv0, input: conf(i), env, encoding: 'utf8' });
    wall.push(performance.now() - t0);
    if (r.status !== 0) throw new Error(`${argv0} ${command} ${i}: exit ${r.status}: ${r.stdout} ${r.stderr}`);
  }
  return { wall, cpuPerCall: ((childCpu() - cpu0) * 1000) / N };
}

const q = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};
const fmt = (s: Series): string => `median ${q(s.wall, 0.5).toFixed(1)} ms, p95 ${q(s.wall, 0.95).toFixed(1)} ms, CPU ${s.cpuPerCall.toFixed(1)} ms/call`;

const plugin = (net: string, bridge: string) => (): string => JSON.stringify({
  cniVersion: '1.0.0', name: net, type: 'flannel', subnetFile: join(DIR, 'subnet.env'), dataDir: join(DIR, `state-${net}`), delegate: { bridge, hairpinMode: true },
});
/** What our plugin hands bridge, for the direct runs (the same work for bridge and host-local). */
const direct = (net: string, bridge: string) => (): string => JSON.stringify({
  cniVersion: '1.0.0', name: net, type: 'bridge', bridge, hairpinMode: true, ipMasq: false, mtu: 1450, isGateway: true, isDefaultGateway: true,
  ipam: { type: 'host-local', subnet: '10.252.1.0/24', routes: [{ dst: '10.252.0.0/16', gw: '10.252.1.1' }] },
});

/** The measurements, run inside the host namespace (this process was started there: no extra process per call). */
function measure(): void {
  const stub = join(DIR, 'stub');
  const flannel = join(DIR, 'bin', 'flannel');
  const bridge = join(CNI_DEBIAN_BIN_DIR, 'bridge');
  const r = {
    stubAdd: calls(join(stub, 'bridge'), 'bridge', 'ADD', direct(`${ID}s`, `${ID}s0`), stub),
    stubDel: calls(join(stub, 'bridge'), 'bridge', 'DEL', direct(`${ID}s`, `${ID}s0`), stub),
    ownAdd: calls(flannel, 'flannel', 'ADD', plugin(`${ID}s`, `${ID}s0`), stub),
    ownDel: calls(flannel, 'flannel', 'DEL', plugin(`${ID}s`, `${ID}s0`), stub),
    oursAdd: calls(flannel, 'flannel', 'ADD', plugin(`${ID}f`, `${ID}f0`), CNI_DEBIAN_BIN_DIR),
    oursDel: calls(flannel, 'flannel', 'DEL', plugin(`${ID}f`, `${ID}f0`), CNI_DEBIAN_BIN_DIR),
    bridgeAdd: calls(bridge, 'bridge', 'ADD', direct(`${ID}b`, `${ID}b0`), CNI_DEBIAN_BIN_DIR),
    bridgeDel: calls(bridge, 'bridge', 'DEL', direct(`${ID}b`, `${ID}b0`), CNI_DEBIAN_BIN_DIR),
  };
  const own = (a: Series, s: Series) => `median ${(q(a.wall, 0.5) - q(s.wall, 0.5)).toFixed(1)} ms, p95 ${(q(a.wall, 0.95) - q(s.wall, 0.95)).toFixed(1)} ms, CPU ${(a.cpuPerCall - s.cpuPerCall).toFixed(1)} ms/call`;
  console.log(`CNI plugin latency over ${N} containers (${BINARY}; wall = spawn to exit, as a runtime sees it)`);
  console.log('  own part (our plugin with a stub delegate, minus the stub alone):');
  console.log(`    ADD ${own(r.ownAdd, r.stubAdd)}   [plugin+stub ${fmt(r.ownAdd)}; stub ${fmt(r.stubAdd)}]`);
  console.log(`    DEL ${own(r.ownDel, r.stubDel)}   [plugin+stub ${fmt(r.ownDel)}; stub ${fmt(r.stubDel)}]`);
  console.log('  with the bridge delegate (bridge + host-local: real veths on a real bridge):');
  console.log(`    ADD  flannel → bridge ${fmt(r.oursAdd)};  bridge directly ${fmt(r.bridgeAdd)}`);
  console.log(`    DEL  flannel → bridge ${fmt(r.oursDel)};  bridge directly ${fmt(r.bridgeDel)}`);
}

function main(): void {
  if (process.env.FPN_BENCH_INNER) {
    measure();
    return;
  }
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: npm run build`);
  if (!existsSync(join(CNI_DEBIAN_BIN_DIR, 'bridge'))) throw new Error(`${CNI_DEBIAN_BIN_DIR}/bridge is missing: apt-get install containernetworking-plugins`);
  try {
    mkdirSync(join(DIR, 'bin'), { recursive: true });
    mkdirSync(join(DIR, 'stub'), { recursive: true });
    // the plugin as runtimes find it: a link named flannel to the one binary
    symlinkSync(BINARY, join(DIR, 'bin', 'flannel'));
    writeFileSync(join(DIR, 'subnet.env'), 'FLANNEL_NETWORK=10.252.0.0/16\nFLANNEL_SUBNET=10.252.1.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n');
    const canned = JSON.stringify({ cniVersion: '1.0.0', interfaces: [{ name: 'eth0', sandbox: '/run/netns/x' }], ips: [{ address: '10.252.1.2/24', gateway: '10.252.1.1', interface: 0 }] });
    writeFileSync(join(DIR, 'stub', 'bridge'), `#!/bin/sh\ncat > /dev/null\n[ "$CNI_COMMAND" = ADD ] && printf '%s' '${canned}'\nexit 0\n`);
    chmodSync(join(DIR, 'stub', 'bridge'), 0o755);
    sh(`ip netns add ${HOST}\n${Array.from({ length: N }, (_, i) => `ip netns add ${ns(i)}`).join('\n')}`);
    const r = spawnSync('ip', ['netns', 'exec', HOST, process.execPath, ...process.execArgv, __filename, String(N), '--binary', BINARY],
      { env: { ...process.env, FPN_BENCH_INNER: '1' }, stdio: 'inherit' });
    if (r.status !== 0) process.exitCode = 1;
  } finally {
    for (let i = 0; i < N; i++) spawnSync('ip', ['netns', 'del', ns(i)]);
    spawnSync('ip', ['netns', 'del', HOST]);
    rmSync(DIR, { recursive: true, force: true });
    for (const net of ['s', 'f', 'b']) rmSync(join(CNI_HOST_LOCAL_DIR, `${ID}${net}`), { recursive: true, force: true });
  }
}

main();
