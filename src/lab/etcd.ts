/**
 * The lab's etcd: one member of Debian's etcd in its own namespace (198.18.k.10:2379), reachable from every
 * host (also the routed one, via the router) and from the root namespace through the lab's veth.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { run, spawnDetached, pollUntil } from './exec.js';
import { labDir, logDir } from './paths.js';
import { pidAlive } from './state.js';
import type { LabPlan } from './plan.js';
import type { TlsFiles } from './tls.js';
import { StepFailedError } from '../util/errors.js';

export function etcdEndpoint(plan: LabPlan, tls: boolean): string {
  return `${tls ? 'https' : 'http'}://${plan.etcdIp}:2379`;
}

export function etcdDataDir(lab: string): string {
  return join(labDir(lab), 'etcd', 'data');
}

/** `v2`: also serve etcd's v2 API (--enable-v2), for tests of clusters whose config sits in the v2 store. */
export function startEtcd(plan: LabPlan, o: { tls?: TlsFiles; v2?: boolean } = {}): number {
  const tls = o.tls;
  const scheme = tls ? 'https' : 'http';
  mkdirSync(join(labDir(plan.name), 'etcd'), { recursive: true, mode: 0o700 });
  mkdirSync(logDir(plan.name), { recursive: true });
  const member = `fpl-${plan.name}-etcd`;
  const args = [
    'netns', 'exec', plan.etcdNs, 'etcd',
    '--name', member,
    '--data-dir', etcdDataDir(plan.name),
    '--listen-client-urls', `${scheme}://${plan.etcdIp}:2379,${scheme}://127.0.0.1:2379`,
    '--advertise-client-urls', etcdEndpoint(plan, !!tls),
    // a single member: peers only on loopback
    '--listen-peer-urls', 'http://127.0.0.1:2380',
    '--initial-advertise-peer-urls', 'http://127.0.0.1:2380',
    '--initial-cluster', `${member}=http://127.0.0.1:2380`,
    '--initial-cluster-state', 'new',
    '--initial-cluster-token', member,
  ];
  if (o.v2) args.push('--enable-v2');
  if (tls) args.push('--cert-file', tls.serverCert, '--key-file', tls.serverKey, '--trusted-ca-file', tls.ca, '--client-cert-auth');
  // `ip netns exec` execs etcd: the PID we get is etcd's own
  return spawnDetached('ip', args, join(logDir(plan.name), 'etcd.log'));
}

export function etcdctlArgs(endpoint: string, tls?: TlsFiles): string[] {
  const a = [`--endpoints=${endpoint}`, '--dial-timeout=1s', '--command-timeout=2s'];
  if (tls) a.push(`--cacert=${tls.ca}`, `--cert=${tls.clientCert}`, `--key=${tls.clientKey}`);
  return a;
}

/** Wait until etcd answers a health check from the root namespace (the user's side of the lab). */
export async function waitEtcd(pid: number, endpoint: string, tls?: TlsFiles, timeoutMs = 20_000): Promise<void> {
  const env = { ...process.env, ETCDCTL_API: '3' };
  const ok = await pollUntil(async () => {
    if (!pidAlive(pid)) throw new StepFailedError('etcd exited during start', 'etcd', 'see log/etcd.log in the lab dir');
    return (await run('etcdctl', [...etcdctlArgs(endpoint, tls), 'endpoint', 'health'], { env })).code === 0;
  }, timeoutMs, 100);
  if (!ok) throw new StepFailedError(`etcd at ${endpoint} is not healthy after ${timeoutMs / 1000} s`, 'etcd', 'see log/etcd.log in the lab dir');
}
