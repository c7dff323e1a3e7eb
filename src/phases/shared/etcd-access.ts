/**
 * How the controller reaches etcd: directly when it can (fast path, e.g. CI next to the cluster), else
 * through an SSH tunnel via a host that reaches it (etcd is often only on the cluster network). Shared by
 * up (seed), status, check and down (lease removal).
 */
import type { Etcd3 } from 'etcd3';
import { createEtcdClient, DEFAULT_CALL_TIMEOUT_MS } from '../../etcd/client.js';
import { readConfig } from '../../etcd/config-store.js';
import type { ClusterSpec } from '../../inventory/types.js';
import type { RemoteHost, Tunnel } from '../../remote/types.js';
import { UnreachableError } from '../../util/errors.js';
import { parseEtcdEndpoint } from './facts.js';
import { v2EndpointsOf, type V2Endpoint } from '../../etcd/v2-store.js';

export interface EtcdAccess {
  client: Etcd3;
  /** "direct" or "ssh tunnel via h1 to 198.18.1.10:2379" */
  via: string;
  /** the same etcd for its v2 HTTP API (same port, same path: direct, or through the same tunnel) */
  v2: V2Endpoint[];
  close(): Promise<void>;
}

function tlsOf(cluster: ClusterSpec): { caFile?: string; certFile?: string; keyFile?: string } {
  // a managed etcd: the controller's own client certificate (the hosts' are per host)
  if (cluster.etcd.controllerTls) return cluster.etcd.controllerTls;
  const f = cluster.hosts[0]?.flannel;
  return {
    ...(f?.etcdCaFile ? { caFile: f.etcdCaFile } : {}),
    ...(f?.etcdCertFile ? { certFile: f.etcdCertFile } : {}),
    ...(f?.etcdKeyFile ? { keyFile: f.etcdKeyFile } : {}),
  };
}

/** Does etcd answer a read within `ms`? (what went wrong otherwise, for the message) */
async function works(client: Etcd3, prefix: string, ms: number): Promise<true | string> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((r) => { timer = setTimeout(() => r(`no answer in ${ms / 1000} s`), ms); });
  const probe = readConfig(client, prefix).then(() => true as const, (e: Error) => e.message.split('\n')[0]!);
  try {
    return await Promise.race([probe, late]);
  } finally {
    clearTimeout(timer);
  }
}

function authOf(cluster: ClusterSpec): { username?: string; password?: string } {
  return cluster.etcd.username ? { username: cluster.etcd.username, password: cluster.etcd.password ?? '' } : {};
}

/**
 * The direct path alone (needs no host facts, so a command can start it while the facts are gathered):
 * the access when etcd answers from the controller, else undefined.
 */
export async function openEtcdDirect(cluster: ClusterSpec, opts: { timeoutMs?: number; callTimeoutMs?: number } = {}): Promise<EtcdAccess | undefined> {
  const timeoutMs = opts.timeoutMs ?? 1500;
  const connect = { endpoints: cluster.etcd.endpoints, ...tlsOf(cluster), ...authOf(cluster) };
  const direct = createEtcdClient({ ...connect, dialTimeoutMs: timeoutMs, callTimeoutMs: opts.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS });
  if ((await works(direct, cluster.etcd.prefix, timeoutMs)) === true) return { client: direct, via: 'direct', v2: v2EndpointsOf(connect), close: async () => direct.close() };
  direct.close();
  return undefined;
}

/** Tunnels tried at most (each through another host): when two hosts cannot get an answer either, etcd is down. */
const MAX_TUNNEL_ATTEMPTS = 2;

/**
 * Opens etcd: directly (or `opts.direct`, that attempt already started), else `via` connected hosts to tunnel
 * through, in order of preference, each with the endpoints it reaches ("host:port", from its facts); the
 * first that works is used.
 */
export async function openEtcd(
  cluster: ClusterSpec,
  via: readonly { remote: RemoteHost; reachable: readonly string[] }[],
  opts: { directTimeoutMs?: number; callTimeoutMs?: number; log?: (m: string) => void; direct?: Promise<EtcdAccess | undefined> } = {},
): Promise<EtcdAccess> {
  const auth = authOf(cluster);
  const tls = tlsOf(cluster);
  const callTimeoutMs = opts.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  const direct = await (opts.direct ?? openEtcdDirect(cluster, { ...(opts.directTimeoutMs ? { timeoutMs: opts.directTimeoutMs } : {}), callTimeoutMs }));
  if (direct) return direct;
  const tried: string[] = ['directly: no answer'];
  let tunnels = 0;
  for (const v of via) {
    if (tunnels >= MAX_TUNNEL_ATTEMPTS) break;
    for (const url of cluster.etcd.endpoints) {
      const ep = parseEtcdEndpoint(url);
      if (!ep || !v.reachable.includes(`${ep.host}:${ep.port}`)) continue;
      if (tunnels++ >= MAX_TUNNEL_ATTEMPTS) break;
      let tunnel: Tunnel | undefined;
      try {
        tunnel = await v.remote.tunnel(ep.host, ep.port);
        const scheme = url.startsWith('https') ? 'https' : 'http';
        const client = createEtcdClient({ endpoints: [`${scheme}://127.0.0.1:${tunnel.port}`], ...tls, ...auth, dialTimeoutMs: 3000, callTimeoutMs });
        const ok = await works(client, cluster.etcd.prefix, callTimeoutMs);
        if (ok === true) {
          opts.log?.(`etcd: ssh tunnel via ${v.remote.name} to ${ep.host}:${ep.port}`);
          const t = tunnel;
          const v2 = [{ url: `${scheme}://127.0.0.1:${tunnel.port}`, serverName: ep.host, ...tls, ...auth }];
          return { client, via: `ssh tunnel via ${v.remote.name} to ${ep.host}:${ep.port}`, v2, close: async () => { client.close(); await t.close(); } };
        }
        client.close();
        await tunnel.close();
        tried.push(`through an SSH tunnel via ${v.remote.name} to ${ep.host}:${ep.port}: ${ok}`);
      } catch (e) {
        await tunnel?.close().catch(() => undefined);
        tried.push(`via ${v.remote.name}: ${(e as Error).message}`);
      }
    }
  }
  throw new UnreachableError(`etcd does not answer (${cluster.etcd.endpoints.join(', ')}); tried ${tried.join('; ')}`, undefined,
    'is etcd running, and not stopped or overloaded? `etcdctl endpoint health` on a host tells; --etcd-timeout gives it longer');
}
