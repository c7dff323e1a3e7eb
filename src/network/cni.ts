/**
 * The flannel CNI network: the facts the agent's CNI plugin (agent/cni/) and the CLI (inventory, phases)
 * must agree on — paths, names, the spec versions the plugin speaks, the delegate plugins it needs and
 * the conflist `up` writes. One home, so the plugin never reads a file the CLI did not write.
 */
import { DEFAULT_SUBNET_FILE } from './subnet-env.js';

/** The plugin's name: the conflist's `type`, and the name the agent binary answers to as a CNI plugin. */
export const CNI_PLUGIN_TYPE = 'flannel';
/** The CNI network's default name (the conflist's `name`; `podman run --network flannel`). */
export const CNI_DEFAULT_NETWORK = 'flannel';
/** Where runtimes look for plugins by default (containerd, CRI-O, kubelet); the plugin's link goes here. */
export const CNI_DEFAULT_BIN_DIR = '/opt/cni/bin';
/** Debian's containernetworking-plugins install here, not in /opt/cni/bin. */
export const CNI_DEBIAN_BIN_DIR = '/usr/lib/cni';
/** The Debian package with bridge, host-local and portmap. */
export const CNI_PLUGINS_PACKAGE = 'containernetworking-plugins';
/** The plugins the flannel network needs besides flannel: its delegate, the delegate's IPAM, and the conflist's second plugin. */
export const CNI_REQUIRED_PLUGINS = ['bridge', 'host-local', 'portmap'] as const;
/** Where runtimes read network configurations (the first file in name order is the default network). */
export const CNI_CONF_DIR = '/etc/cni/net.d';
export const CNI_CONFLIST_NAME = '10-flannel.conflist';
export const CNI_CONFLIST_PATH = `${CNI_CONF_DIR}/${CNI_CONFLIST_NAME}`;
/** The plugin's state: the delegate config of every container it added (flannel's default dataDir). */
export const CNI_STATE_DIR = '/var/lib/cni/flannel';
/** host-local's default store: one directory per network name, one file per allocated address. */
export const CNI_HOST_LOCAL_DIR = '/var/lib/cni/networks';
/** libcni's cache of the results it got (`<network>-<containerid>-<ifname>`), what runtimes hand back at DEL. */
export const CNI_RESULTS_DIR = '/var/lib/cni/results';
/** The bridge the delegate puts containers on (the bridge plugin's default name, flannel's and kube-flannel's). */
export const CNI_BRIDGE = 'cni0';

/** CNI spec versions the plugin answers (0.3.0 has 0.3.1's result format). */
export const CNI_SPEC_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] as const;
export type CniSpecVersion = (typeof CNI_SPEC_VERSIONS)[number];
/** The versions a conflist may be written in (the inventory's flannel_cni_version). */
export const CNI_CONFLIST_VERSIONS = ['0.3.1', '0.4.0', '1.0.0'] as const;
export type CniConflistVersion = (typeof CNI_CONFLIST_VERSIONS)[number];
export const CNI_DEFAULT_CONFLIST_VERSION: CniConflistVersion = '1.0.0';

/** A CNI network name (the spec's rule for `name`; it also becomes a host-local directory). */
export const CNI_NETWORK_NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export interface ConflistOptions {
  network: string;
  cniVersion: CniConflistVersion;
}

/**
 * The conflist `up` writes: flannel (delegating to bridge on cni0, hairpin on so a container reaches
 * itself through a published port, as kube-flannel's) then portmap (`-p` port mappings).
 */
export function flannelConflist(o: ConflistOptions): Record<string, unknown> {
  return {
    name: o.network,
    cniVersion: o.cniVersion,
    plugins: [
      {
        type: CNI_PLUGIN_TYPE,
        subnetFile: DEFAULT_SUBNET_FILE,
        dataDir: CNI_STATE_DIR,
        delegate: { bridge: CNI_BRIDGE, hairpinMode: true, isDefaultGateway: true },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
}

export function renderConflist(o: ConflistOptions): string {
  return `${JSON.stringify(flannelConflist(o), null, 2)}\n`;
}
