/**
 * Time to program 1,000 peers from synthetic leases (vxlan and host-gw), a no-change reconcile over
 * them, and a single-peer add on top (full: reads the kernel; incremental: the lease-event path). Runs in its own network namespace (fpb<id>bench, removed at the
 * end); prints figures, never pass/fail.
 *
 *   node --import tsx bench/backend-program-peers.ts [peers=1000] [rounds=5]
 */
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { createBackend } from '../src/agent/backends/registry.js';
import type { Backend, BackendContext } from '../src/agent/backends/backend.js';
import { parseNetworkConfig } from '../src/network/config.js';
import type { Lease } from '../src/network/types.js';

const PEERS = Number(process.argv[2] ?? 1000);
const ROUNDS = Number(process.argv[3] ?? 5);
const NS = `fpb${process.pid % 10000}bench`;
const NS2 = `${NS}2`;
const sh = (s: string) => execFileSync('bash', ['-euo', 'pipefail', '-c', s], { encoding: 'utf8' });
const silent = { info() {}, warn() {}, error: (m: string) => console.error(m), debug() {} };

function ctx(type: string): BackendContext {
  return {
    extIface: { name: 'eth0', index: 0, ifaceAddr: '172.16.0.1', publicIp: '172.16.0.1', mtu: 1500 },
    config: parseNetworkConfig({ Network: '10.0.0.0/8', Backend: { Type: type } }),
    log: silent,
  };
}

/** Peer k (1-based): subnet 10.(k>>8).(k&255).0/24 (k=0 is us), public IP 172.16.(k>>8).(k&255) on-link. */
function peer(k: number, type: string): Lease {
  const mac = `02:00:00:00:${((k >> 8) & 255).toString(16).padStart(2, '0')}:${(k & 255).toString(16).padStart(2, '0')}`;
  return {
    subnet: { ip: ((10 << 24) | (k << 8)) >>> 0, prefixLen: 24 },
    attrs: {
      PublicIP: `172.16.${k >> 8}.${k & 255}`,
      PublicIPv6: null,
      BackendType: type,
      ...(type === 'vxlan' ? { BackendData: { VNI: 1, VtepMAC: mac } } : {}),
    },
  };
}

async function time(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}

function stats(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  const med = s[Math.floor(s.length / 2)]!;
  return `median ${med.toFixed(1)} ms (min ${s[0]!.toFixed(1)}, max ${s[s.length - 1]!.toFixed(1)})`;
}

async function benchType(type: 'vxlan' | 'host-gw'): Promise<void> {
  const leases = Array.from({ length: PEERS }, (_, i) => peer(i + 1, type));
  const extra = peer(PEERS + 1, type);
  const full: number[] = [];
  const noop: number[] = [];
  const one: number[] = [];
  const oneInc: number[] = [];
  const delInc: number[] = [];
  const down: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const b: Backend = createBackend(type, ctx(type), { target: { netns: NS } });
    await b.prepare();
    await b.activate({ ip: 10 << 24, prefixLen: 24 });
    full.push(await time(() => b.reconcile(leases)));
    noop.push(await time(() => b.reconcile(leases)));
    one.push(await time(() => b.reconcile([...leases, extra])));
    await b.reconcile(leases);
    oneInc.push(await time(() => b.reconcile([...leases, extra], { mode: 'incremental' })));
    delInc.push(await time(() => b.reconcile(leases, { mode: 'incremental' })));
    down.push(await time(() => b.teardown()));
  }
  console.log(`${type.padEnd(7)} program ${PEERS} peers (one reconcile): ${stats(full)}`);
  console.log(`${type.padEnd(7)} reconcile, nothing to change:        ${stats(noop)}`);
  console.log(`${type.padEnd(7)} single-peer add (full reconcile):     ${stats(one)}`);
  console.log(`${type.padEnd(7)} single-peer add (incremental):      ${stats(oneInc)}`);
  console.log(`${type.padEnd(7)} single-peer removal (incremental):  ${stats(delInc)}`);
  console.log(`${type.padEnd(7)} teardown:                             ${stats(down)}`);
}

async function main(): Promise<void> {
  sh(`ip netns add ${NS}; ip netns add ${NS2}
      ip link add eth0 netns ${NS} type veth peer name eth0 netns ${NS2}
      ip -n ${NS} addr add 172.16.0.1/16 dev eth0; ip -n ${NS} link set eth0 up; ip -n ${NS} link set lo up`);
  try {
    console.log(`backend-program-peers: ${PEERS} peers, ${ROUNDS} rounds, Node ${process.version}`);
    await benchType('vxlan');
    await benchType('host-gw');
  } finally {
    sh(`ip netns del ${NS}; ip netns del ${NS2}`);
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
