/**
 * The files of a managed etcd member, rendered from templates/ (docs/etcd.md): `etcd.service`
 * (Type=notify, flags for its name, data dir, URLs and — by default — peer and client TLS) and the
 * bootstrap environment file read on the member's first start only. `up` writes them, `render` prints them.
 */
import { EtcdRemotePaths, ETCD_USER, initialCluster, listenClientUrls, clientUrl, peerUrl } from '../etcd/member-layout.js';
import { envFileLine, renderTemplate, systemdWord } from './host-files.js';
import type { EtcdMemberSpec, ManagedEtcdSpec } from './types.js';

/** etcd's flags for a member: stable for the member's whole life (what changes at a join goes to the bootstrap file). */
export function etcdFlags(m: Pick<EtcdMemberSpec, 'name' | 'address'>, tls: boolean): string[] {
  const flags = [
    `--name=${m.name}`,
    `--data-dir=${EtcdRemotePaths.dataDir}`,
    `--listen-peer-urls=${peerUrl(m, tls)}`,
    `--initial-advertise-peer-urls=${peerUrl(m, tls)}`,
    `--listen-client-urls=${listenClientUrls(m, tls).join(',')}`,
    `--advertise-client-urls=${clientUrl(m, tls)}`,
    // flannel's keys change little; keep an hour of history
    '--auto-compaction-mode=periodic',
    '--auto-compaction-retention=1h',
  ];
  if (tls) {
    flags.push(
      `--trusted-ca-file=${EtcdRemotePaths.ca}`, `--cert-file=${EtcdRemotePaths.serverCert}`, `--key-file=${EtcdRemotePaths.serverKey}`, '--client-cert-auth',
      `--peer-trusted-ca-file=${EtcdRemotePaths.ca}`, `--peer-cert-file=${EtcdRemotePaths.peerCert}`, `--peer-key-file=${EtcdRemotePaths.peerKey}`, '--peer-client-cert-auth',
    );
  }
  return flags;
}

export function renderEtcdUnit(m: Pick<EtcdMemberSpec, 'name' | 'address'>, managed: Pick<ManagedEtcdSpec, 'tls'>, execPath: string): string {
  return renderTemplate('etcd.service.hbs', {
    name: m.name,
    user: ETCD_USER,
    bootstrapEnv: EtcdRemotePaths.bootstrapEnv,
    execStart: [execPath, ...etcdFlags(m, managed.tls)].map(systemdWord).join(' '),
  });
}

export interface Bootstrap {
  /** ETCD_INITIAL_CLUSTER: `name=peerURL,...` */
  initialCluster: string;
  state: 'new' | 'existing';
  token: string;
}

/** The bootstrap of a new cluster: every member, state new. */
export function newClusterBootstrap(managed: Pick<ManagedEtcdSpec, 'members' | 'tls'>, token: string): Bootstrap {
  return { initialCluster: initialCluster(managed.members.map((m) => ({ name: m.name, peerUrl: peerUrl(m, managed.tls) }))), state: 'new', token };
}

export function renderBootstrapEnv(b: Bootstrap): string {
  return '# Written by flanprov: read by etcd on this member\'s first start only (ignored once its data dir exists)\n'
    + envFileLine('ETCD_INITIAL_CLUSTER', b.initialCluster)
    + envFileLine('ETCD_INITIAL_CLUSTER_STATE', b.state)
    + envFileLine('ETCD_INITIAL_CLUSTER_TOKEN', b.token);
}
