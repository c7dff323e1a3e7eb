/**
 * How the controller reaches etcd: directly when it can (fast path, e.g. CI next to the cluster), else
 * through an SSH tunnel via a host that reaches it (etcd is often only on the cluster network). Shared by
 * up (seed), status, check and down (lease removal).
 */
import type { Etcd3 } from 'etcd3';
import { createEtcdClient } from '../../etcd/client.js';
import { readConfig } from '../../etcd/config-store.js';
import type { ClusterSpec } from '../../inventory/types.js';
import type { RemoteHost, Tunnel } from '../../remote/types.js';
import { UnreachableError } from '../../util/errors.js';
import { parseEtcdEndpoint } from './facts.js';

export interface EtcdAccess {
  client: Etcd3;
  /** "direct" or "ssh tunnel via h1 to 198.18.1.10:2379" */
  via: string;
  close(): Promise<void>;
}

function tlsOf(cluster: ClusterSpec): { caFile?: string; certFile?: string; keyFile?: string } {
  const f = cluster.hosts[0]?.flannel;
  return {
    ...(f?.etcdCaFile ? { caFile: f.etcdCaFile } : {}),
    ...(f?.etcdCertFile ? { certFile: f.etcdCertFile } : {}),
    ...(f?.etcdKeyFile ? { keyFile: f.etcdKeyFile } : {}),
  };
}

async function works(client: Etcd3, prefix: string, ms: number): Promise<boolean> {
  const timer = new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref());
  const probe = readConfig(client, prefix).then(() => true, () => false);
  return Promise.race([probe, timer]);
}

function authOf(cluster: ClusterSpec): { username?: string; password?: string } {
  return cluster.etcd.username ? { username: cluster.etcd.username, password: cluster.etcd.password ?? '' } : {};
}

/**
 * The direct path alone (needs no host facts, so a command can start it while the facts are gathered):
 * the access when etcd answers from the controller, else undefined.
 */
export async function openEtcdDirect(cluster: ClusterSpec, timeoutMs = 1500): Promise<EtcdAccess | undefined> {
  const direct = createEtcdClient({ endpoints: cluster.etcd.endpoints, ...tlsOf(cluster), ...authOf(cluster), dialTimeoutMs: timeoutMs });
  if (await works(direct, cluster.etcd.prefix, timeoutMs)) return { client: direct, via: 'direct', close: async () => direct.close() };
  direct.close();
  return undefined;
}

/**
 * Opens etcd: directly (or `opts.direct`, that attempt already started), else `via` connected hosts to tunnel
 * through, in order of preference, each with the endpoints it reaches ("host:port", from its facts); the
 * first that works is used.
 */
export async function openEtcd(
  cluster: ClusterSpec,
  via: readonly { remote: RemoteHost; reachable: readonly string[] }[],
  opts: { directTimeoutMs?: number; log?: (m: string) => void; direct?: Promise<EtcdAccess | undefined> } = {},
): Promise<EtcdAccess> {
  const auth = authOf(cluster);
  const tls = tlsOf(cluster);
  const direct = await (opts.direct ?? openEtcdDirect(cluster, opts.directTimeoutMs));
  if (direct) return direct;
  const tried: string[] = ['direct'];
  for (const v of via) {
    for (const url of cluster.etcd.endpoints) {
      const ep = parseEtcdEndpoint(url);
      if (!ep || !v.reachable.includes(`${ep.host}:${ep.port}`)) continue;
      let tunnel: Tunnel | undefined;
      try {
        tunnel = await v.remote.tunnel(ep.host, ep.port);
        const scheme = url.startsWith('https') ? 'https' : 'http';
        const client = createEtcdClient({ endpoints: [`${scheme}://127.0.0.1:${tunnel.port}`], ...tls, ...auth, dialTimeoutMs: 3000 });
        if (await works(client, cluster.etcd.prefix, 5000)) {
          opts.log?.(`etcd: ssh tunnel via ${v.remote.name} to ${ep.host}:${ep.port}`);
          const t = tunnel;
          return { client, via: `ssh tunnel via ${v.remote.name} to ${ep.host}:${ep.port}`, close: async () => { client.close(); await t.close(); } };
        }
        client.close();
        await tunnel.close();
        tried.push(`via ${v.remote.name} to ${ep.host}:${ep.port}`);
      } catch (e) {
        await tunnel?.close().catch(() => undefined);
        tried.push(`via ${v.remote.name}: ${(e as Error).message}`);
      }
    }
  }
  throw new UnreachableError(`cannot reach etcd (${cluster.etcd.endpoints.join(', ')}); tried ${tried.join('; ')}`);
}
