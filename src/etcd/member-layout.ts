/**
 * One home for the facts about an etcd member that flanprov runs (docs/etcd.md): its ports, the files it
 * writes on the member, the data dir, and the URLs built from the member's address. Read by the inventory
 * (endpoints for the agents), the etcd phases (unit, files, start), `render`, `status` and `down`.
 */

/** etcd's registered ports (IANA): clients and peers. */
export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;

/** Paths on a member host. The data dir lives under /var/lib/etcd (the Debian package's own member is /var/lib/etcd/default). */
export const EtcdRemotePaths = {
  unit: '/etc/systemd/system/etcd.service',
  /**
   * ETCD_INITIAL_* for the member's first start only (etcd ignores them once its data dir exists), kept out
   * of the unit so that a member joining later never changes the unit — and never restarts — the others.
   */
  /** the directory of the bootstrap file and the PKI directory (removed by `down --etcd` once empty) */
  confDir: '/etc/etcd',
  bootstrapEnv: '/etc/etcd/flanprov-bootstrap.env',
  pkiDir: '/etc/etcd/pki',
  ca: '/etc/etcd/pki/ca.pem',
  serverCert: '/etc/etcd/pki/server.pem',
  serverKey: '/etc/etcd/pki/server-key.pem',
  peerCert: '/etc/etcd/pki/peer.pem',
  peerKey: '/etc/etcd/pki/peer-key.pem',
  dataDir: '/var/lib/etcd/flanprov',
  /** where a data dir that no longer belongs to the cluster is moved (never deleted): `<dataDir>.removed-<time>` */
  setAsideSuffix: '.removed-',
  /** the pushed binary's sha256 cache (size, mtime, inode), like the agent's */
  shaCache: '/var/lib/flanprov/etcd.sha256',
} as const;

/** The user the member runs as (Debian's package uses the same name). */
export const ETCD_USER = 'etcd';

/** The etcd versions flanprov runs: 3.4 or later (the v3 API flannel needs, `--enable-v2=false` by default). */
export const MIN_ETCD_VERSION = '3.4.0';

export interface MemberAddress {
  /** the member's name (the inventory host name) */
  name: string;
  /** the IPv4 address it listens and advertises on */
  address: string;
}

function url(scheme: 'http' | 'https', address: string, port: number): string {
  return `${scheme}://${address}:${port}`;
}

export function peerUrl(m: Pick<MemberAddress, 'address'>, tls: boolean): string {
  return url(tls ? 'https' : 'http', m.address, ETCD_PEER_PORT);
}

export function clientUrl(m: Pick<MemberAddress, 'address'>, tls: boolean): string {
  return url(tls ? 'https' : 'http', m.address, ETCD_CLIENT_PORT);
}

/** The client URLs a member listens on: its address and loopback (for tools on the member itself). */
export function listenClientUrls(m: Pick<MemberAddress, 'address'>, tls: boolean): string[] {
  return [clientUrl(m, tls), url(tls ? 'https' : 'http', '127.0.0.1', ETCD_CLIENT_PORT)];
}

/** `--initial-cluster` / ETCD_INITIAL_CLUSTER: `name=peerURL,...` in the order given. */
export function initialCluster(members: readonly { name: string; peerUrl: string }[]): string {
  return members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
}
