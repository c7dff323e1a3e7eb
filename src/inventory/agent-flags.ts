/**
 * flanneld command-line flags for a host, with flannel's flag names (CONVENTIONS: the CLI renders them,
 * the agent parses them). Never a secret: the etcd password goes to the unit's EnvironmentFile
 * (FLANNELD_ETCD_PASSWORD, mode 0600), which flannel reads like any FLANNELD_* variable.
 */
import { RemotePaths, type EtcdSpec, type HostSpec } from './types.js';

export function agentFlags(h: Pick<HostSpec, 'flannel'>, etcd: EtcdSpec): string[] {
  const f = h.flannel;
  const flags = [`-etcd-endpoints=${etcd.endpoints.join(',')}`, `-etcd-prefix=${etcd.prefix}`];
  if (f.etcdCaFile) flags.push(`-etcd-cafile=${RemotePaths.etcdCa}`);
  if (f.etcdCertFile) flags.push(`-etcd-certfile=${RemotePaths.etcdCert}`);
  if (f.etcdKeyFile) flags.push(`-etcd-keyfile=${RemotePaths.etcdKey}`);
  if (etcd.username) flags.push(`-etcd-username=${etcd.username}`);
  for (const i of f.iface) flags.push(i.kind === 'regex' ? `-iface-regex=${i.value}` : `-iface=${i.value}`);
  if (f.publicIp) flags.push(`-public-ip=${f.publicIp}`);
  flags.push(`-ip-masq=${f.ipMasq}`);
  flags.push(`-subnet-file=${RemotePaths.subnetEnv}`);
  flags.push('-healthz-ip=127.0.0.1', `-healthz-port=${f.healthzPort}`);
  return flags;
}

/** Variables for the agent's EnvironmentFile (secrets only). */
export function agentEnv(etcd: EtcdSpec): Record<string, string> {
  return etcd.password !== undefined ? { FLANNELD_ETCD_PASSWORD: etcd.password } : {};
}
