/**
 * The typed result of loading an Ansible inventory: what the controller needs to reach each host and what
 * each host's agent needs. Produced by `loadInventory()` (load.ts); consumed by the phases, render and CLI.
 * Nothing here holds a secret except `ConnectionSpec.becomePassword` and `EtcdSpec.password`, which come
 * from the environment and must never be printed or put on a command line.
 */
import type { BackendType } from '../network/backends.js';
import { DEFAULT_SUBNET_FILE } from '../network/subnet-env.js';
import { CNI_CONFLIST_PATH, type CniConflistVersion } from '../network/cni.js';

/** A place in an inventory file (1-based line and column), for error messages "file:line:col". */
export interface SourcePos {
  file: string;
  line: number;
  col: number;
}

export function formatPos(p: SourcePos | undefined): string {
  return p ? `${p.file}:${p.line}:${p.col}` : '';
}

/** OpenSSH's StrictHostKeyChecking values that flanprov honours. `no` still refuses a *changed* key. */
export type StrictHostKeyChecking = 'yes' | 'accept-new' | 'no';

/**
 * One hop of a ProxyJump chain (`-J user@host:port` / `-o ProxyJump=...`). As with `ssh -J`, a hop's settings
 * come from its own ssh_config entry (command-line options apply to the target only); the optional fields are
 * filled by the inventory loader, and a hop built without them uses the target's.
 */
export interface JumpHost {
  host: string;
  port: number;
  /** the jump spec's user, else its ssh_config User, else the local user (as OpenSSH's -J) */
  user: string;
  /** keys to offer: its IdentityFile lines (else OpenSSH's default keys that exist), then the target's own key */
  identityFiles?: string[];
  identitiesOnly?: boolean;
  knownHostsFile?: string;
  knownHostsAlso?: string[];
  hostKeyAlias?: string;
  hashKnownHosts?: boolean;
  strictHostKeyChecking?: StrictHostKeyChecking;
  connectTimeoutMs?: number;
}

/** How to reach one host over SSH (from ansible_* vars and ansible_ssh_common_args/extra_args). */
export interface ConnectionSpec {
  /**
   * `ssh` = an SSH connection (ssh2); `local` = ansible_connection: local, the host's scripts run on this
   * machine with bash (no SSH; sudo still applies)
   */
  transport: 'ssh' | 'local';
  /** address or DNS name to connect to (ansible_host, default: the inventory host name; HostName from ssh_config) */
  host: string;
  port: number;
  user: string;
  /**
   * Private key files to try, in order: the inventory's (ansible_ssh_private_key_file, `-i`), then ssh_config's
   * IdentityFile lines; when neither names one, the OpenSSH defaults that exist (~/.ssh/id_ed25519, id_ecdsa, id_rsa).
   */
  identityFiles: string[];
  /** true when identityFiles were named (inventory or ssh_config): a missing file is then an error, not skipped */
  identityExplicit: boolean;
  /** use ssh-agent ($SSH_AUTH_SOCK) when it is set (IdentitiesOnly limits it to the keys named, as OpenSSH) */
  useAgent: boolean;
  /** IdentitiesOnly yes: only the identityFiles are offered (agent keys that match none of them are not) */
  identitiesOnly: boolean;
  /**
   * login password (ansible_password / ansible_ssh_pass, from the environment only), tried with
   * password and keyboard-interactive authentication after the keys; never logged
   */
  password?: string;
  /** the first UserKnownHostsFile (default ~/.ssh/known_hosts): read, and where accept-new records a new key */
  knownHostsFile: string;
  /** further known_hosts files, read only: the other UserKnownHostsFile entries, then GlobalKnownHostsFile */
  knownHostsAlso?: string[];
  /** HostKeyAlias: the name host keys are looked up and recorded under (instead of host and port) */
  hostKeyAlias?: string;
  /** HashKnownHosts: accept-new records the name hashed */
  hashKnownHosts?: boolean;
  strictHostKeyChecking: StrictHostKeyChecking;
  /** ProxyJump chain, first hop first; empty = direct */
  proxyJump: JumpHost[];
  /** connect timeout (ConnectTimeout, default 10 s) */
  connectTimeoutMs: number;
  /** ansible_become: run privileged steps through sudo (ignored when user is root and becomeUser is root) */
  become: boolean;
  becomeUser: string;
  /** sudo password (from the environment only); undefined = passwordless `sudo -n` */
  becomePassword?: string;
}

/** flannel_iface entry: an interface name, an IPv4 address (-iface) or a regex written as /…/ (-iface-regex). */
export type IfaceSelector =
  | { kind: 'name'; value: string }
  | { kind: 'ip'; value: string }
  | { kind: 'regex'; value: string };

/**
 * What the host's containers run on: `docker` (flanprov points Docker's bridge at the host's subnet) or
 * `cni` (no Docker drop-in: a CNI network for Podman, containerd, CRI-O, kubelet, served by the agent
 * binary as flannel's CNI plugin).
 */
export type FlannelRuntime = 'docker' | 'cni';

/** The CNI side of a `cni` host. */
export interface CniSettings {
  /** where the plugin's link goes (flannel_cni_bin_dir, default /opt/cni/bin); Debian's /usr/lib/cni is searched too */
  binDir: string;
  /** the network's name (flannel_cni_network, default flannel) */
  network: string;
  /** the conflist's cniVersion (flannel_cni_version, default 1.0.0) */
  version: CniConflistVersion;
}

/**
 * flannel_transfer_compression: how a pushed binary travels. auto = the smallest prebuilt encoding
 * (dist/flanneld.xz, .gz) the host can decode, else plain; xz / gzip = that one (falling back when the host
 * lacks the decoder; gzip of a binary without a prebuilt copy is made on the fly); plain; SFTP.
 */
export type TransferMode = 'auto' | 'xz' | 'gzip' | 'plain' | 'sftp';

/**
 * flannel_agent_source: where a host gets the agent. auto (the default) = peers when more than one host needs
 * the agent in a run, else push (agent-source.ts sourceKind); push = from the controller over SSH; url = the host
 * downloads it from a mirror (flannel_agent_url, through flannel_agent_proxy or the host's proxy settings);
 * peers = the controller pushes to one host, which serves it to the others over the hosts' own network
 * (flanneld serve-file on flannel_agent_serve_port), and so on. Every copy is checked (length, sha256).
 */
export interface AgentSource {
  kind: 'auto' | 'push' | 'url' | 'peers';
  /** url: http:// or https://; a name ending in .xz or .gz is decoded on the host */
  url?: string;
  /** url: the HTTP proxy to use (default: the host's http_proxy/https_proxy, also from /etc/environment) */
  proxy?: string;
  /** peers: the TCP port a host serves the agent on while its peers copy it */
  servePort: number;
  /**
   * peers: hosts copy the compressed copy (xz/gzip, decoded on arrival) from each other instead of the plain
   * binary; only worth it between hosts on a slow network (docs/transfer.md: decoding xz costs more than
   * 99.7 MB take on a 1 Gbit/s LAN)
   */
  peerCompression: boolean;
}

/** Per-host flannel settings (may differ between hosts). */
export interface HostFlannelSettings {
  iface: IfaceSelector[];
  publicIp?: string;
  ipMasq: boolean;
  /** configure Docker: auto = only when docker.service exists on the host */
  docker: 'auto' | boolean;
  runtime: FlannelRuntime;
  cni: CniSettings;
  binDir: string;
  healthzPort: number;
  transfer: TransferMode;
  agentSource: AgentSource;
  /** local TLS files for etcd, pushed to the host (mode 0600) at the remote paths of EtcdSpec.remote* */
  etcdCaFile?: string;
  etcdCertFile?: string;
  etcdKeyFile?: string;
}

/** Cluster-wide etcd access (must agree on every host). */
export interface EtcdSpec {
  endpoints: string[];
  /** default /coreos.com/network */
  prefix: string;
  username?: string;
  /** from the environment only */
  password?: string;
  /** set when flanprov runs the etcd cluster itself (group `etcd`, no flannel_etcd_endpoints): docs/etcd.md */
  managed?: ManagedEtcdSpec;
  /** the controller's own client certificate for a managed etcd (the agents' are per host) */
  controllerTls?: { caFile: string; certFile: string; keyFile: string };
}

/** How a member gets its etcd binary: `auto` = the host's package manager when it offers etcd, else pushed. */
export type EtcdInstallMode = 'auto' | 'package' | 'push';

/** One member of the etcd cluster flanprov runs: a host of the `etcd` group. */
export interface EtcdMemberSpec {
  /** the inventory host name, also the member's etcd name */
  name: string;
  /** the IPv4 address the member listens on and advertises (flannel_etcd_address, else ansible_host) */
  address: string;
  /** the host (connection settings; the same object as in ClusterSpec.hosts when it is also a node) */
  host: HostSpec;
  install: EtcdInstallMode;
  /** the controller's binary to push (flannel_etcd_binary, default `etcd` on the controller's PATH); undefined: none found */
  binary?: string;
  /** where a pushed binary goes on the member: <flannel_bin_dir>/etcd */
  binPath: string;
}

export interface ManagedEtcdSpec {
  /** in inventory order */
  members: EtcdMemberSpec[];
  /** peer and client TLS (flannel_etcd_tls, default true) */
  tls: boolean;
  /** the controller's directory (0700) with the CA, the certificates and the cluster record (flannel_etcd_pki_dir) */
  pkiDir: string;
}

/** One inventory host that runs the agent. */
export interface HostSpec {
  /** inventory host name (the key under hosts:) */
  name: string;
  /** the groups the host belongs to, including ancestors and `all` */
  groups: string[];
  connection: ConnectionSpec;
  flannel: HostFlannelSettings;
  /** flanneld command-line flags for this host (flannel's names, `-flag=value`), no secrets */
  agentFlags: string[];
  /** environment for the agent's EnvironmentFile (mode 0600), e.g. FLANNELD_ETCD_PASSWORD; may be empty */
  agentEnv: Record<string, string>;
  /** where each merged variable was written (for error messages of later phases) */
  varPos: Record<string, SourcePos>;
}

/** Cluster-wide flannel network settings, as written in the inventory. */
export interface ClusterNetworkSettings {
  network: string;
  subnetLen?: number;
  subnetMin?: string;
  subnetMax?: string;
  backend: BackendType;
  vni?: number;
  port?: number;
  mtu?: number;
  directRouting?: boolean;
}

/** The whole cluster as loaded from the inventory. */
export interface ClusterSpec {
  /** absolute path of the inventory file (the first source) */
  inventoryFile: string;
  /** every `-i` source as read (absolute paths; a host list as written), in order (absent: inventoryFile alone) */
  inventorySources?: string[];
  /** hosts that run the agent: group `nodes`, else every host; sorted by name; after --limit */
  hosts: HostSpec[];
  /** names of every host in the inventory (nodes, etcd members, ...) */
  allHostNames: string[];
  network: ClusterNetworkSettings;
  /**
   * The network config JSON object written to `<etcd.prefix>/config` (flannel's field names, only what the
   * inventory sets: flannel applies its own defaults), e.g. {"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}.
   */
  networkConfig: Record<string, unknown>;
  etcd: EtcdSpec;
}

/** Remote paths flanprov writes on every host (shared by render and the phases). */
export const RemotePaths = {
  unitDir: '/etc/systemd/system',
  flanneldUnit: '/etc/systemd/system/flanneld.service',
  dockerDropIn: '/etc/systemd/system/docker.service.d/10-flannel.conf',
  /** EnvironmentFile of flanneld.service (mode 0600): secrets such as FLANNELD_ETCD_PASSWORD */
  agentEnvFile: '/etc/flannel/flanneld.env',
  etcdCa: '/etc/flannel/etcd-ca.pem',
  etcdCert: '/etc/flannel/etcd-cert.pem',
  etcdKey: '/etc/flannel/etcd-key.pem',
  subnetEnv: DEFAULT_SUBNET_FILE,
  /** the network config as rendered, kept on the host for review (not read by the agent) */
  networkConfigCopy: '/etc/flannel/network-config.json',
  /** the CNI network of `cni` hosts */
  cniConflist: CNI_CONFLIST_PATH,
} as const;
