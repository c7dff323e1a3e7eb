/**
 * GET /status: the agent's parts, read into the one document type the CLI reads too
 * (network/agent-status.ts). Every field is always present (null rather than absent), so the contract
 * test can compare field sets.
 */
import type { AgentEtcdStatus, AgentStatus } from '../network/agent-status.js';
import { formatNet } from '../network/ipv4.js';
import { makeSubnetKey } from '../network/lease.js';
import { VERSION } from '../network/version.js';
import type { ActiveBackends } from './active-backends.js';
import type { BackendSwitch } from './backend-switch.js';
import type { ExternalInterface } from './backends/backend.js';
import type { ConfigFollower } from './config-follower.js';
import type { OwnSubnet } from './own-subnet.js';
import type { PeerSet } from './peers.js';
import type { Reconciler } from './reconciler.js';

/** What /status is made of; parts that do not exist yet (before start-up got there) are undefined. */
export interface StatusParts {
  ready: boolean;
  startedAt: number;
  active: ActiveBackends;
  peers: PeerSet;
  reconciler: Pick<Reconciler, 'last'>;
  backendSwitch: Pick<BackendSwitch, 'status' | 'lastSwitch'>;
  extIface?: ExternalInterface | undefined;
  own?: Pick<OwnSubnet, 'lease' | 'lastError' | 'attrs'> | undefined;
  config?: Pick<ConfigFollower, 'revision' | 'restartNeeded'> | undefined;
  etcd(): AgentEtcdStatus;
}

export function buildStatus(p: StatusParts): AgentStatus {
  const own = p.own?.lease;
  const sw = p.backendSwitch.status();
  const config = p.active.config;
  const via = new Map<string, string>();
  for (const [t, ls] of p.active.assign(p.peers).byType) for (const l of ls) via.set(makeSubnetKey(l.subnet), t);
  const iface = p.extIface;
  return {
    version: VERSION,
    ready: p.ready,
    subnet: own ? formatNet(own.subnet) : null,
    publicIP: iface?.publicIp ?? null,
    iface: iface ? { name: iface.name, address: iface.ifaceAddr, mtu: iface.mtu } : null,
    network: config ? formatNet(config.network) : null,
    backend: config?.backendType ?? null,
    leaseBackend: p.own?.attrs.BackendType ?? null,
    backends: p.active.status(),
    activeBackends: p.active.types(),
    switching: sw !== null,
    switchingSince: sw?.since ?? null,
    switch: sw,
    lastSwitch: p.backendSwitch.lastSwitch(),
    mtu: p.active.primary()?.backend.mtu ?? null,
    peerCount: p.peers.size,
    peersByBackend: p.peers.countByType(),
    peers: p.peers.list().map((l) => ({
      subnet: formatNet(l.subnet), publicIP: l.attrs.PublicIP, backendType: l.attrs.BackendType ?? null,
      programmedBy: via.get(makeSubnetKey(l.subnet)) ?? null,
    })),
    lastReconcile: p.reconciler.last ?? null,
    configRevision: p.config?.revision ?? null,
    pendingConfigChange: p.config?.restartNeeded ?? null,
    lease: own ? { expiresAt: own.expiresAt ? new Date(own.expiresAt).toISOString() : null, lastError: p.own?.lastError ?? null } : null,
    etcd: p.etcd(),
    uptimeSeconds: Math.round((Date.now() - p.startedAt) / 1000),
    memoryMB: memoryMB(),
  };
}

function memoryMB(): Record<string, number> {
  const m = process.memoryUsage();
  const mb = (x: number) => Math.round((x / 1048576) * 10) / 10;
  return { rss: mb(m.rss), heapTotal: mb(m.heapTotal), heapUsed: mb(m.heapUsed), external: mb(m.external) };
}
