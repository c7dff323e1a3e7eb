/**
 * The teardown script run on each host by `down` (src/remote/scripts/down.sh): stop and disable the agent,
 * remove everything `up` installed, and every piece of kernel state flannel leaves behind (it deliberately
 * tears nothing down on exit): flannel devices, routes inside the Network, the FLANNEL-POSTRTG / FLANNEL-FWD
 * chains and the rules that jump to them, subnet.env; on `flannel_runtime: cni` hosts also the conflist, the
 * plugin link (only when it points to our agent), the plugin's state, host-local's addresses and the
 * runtimes' cached results for the network, and the cni0 bridge. Prints what it removed, one `removed`
 * line each. This module only sets its parameters.
 */
import { RemotePaths } from '../../inventory/types.js';
import { formatNet } from '../../network/ipv4.js';
import type { Ipv4Net } from '../../network/types.js';
import { remoteScript } from '../../remote/remote-script.js';
import { AGENT_SHA_CACHE, MANAGED_FILES } from '../shared/facts.js';
import { CNI_BRIDGE, CNI_HOST_LOCAL_DIR, CNI_RESULTS_DIR, CNI_STATE_DIR } from '../../network/cni.js';

declare module '../../remote/remote-script.js' {
  interface RemoteScripts {
    down: {
      AGENT_PATH: string; NETWORK: string; DOCKER: number; DOCKER_DROPIN: string; DOCKER_KV: string;
      CNI: number; CNI_LINK: string; CNI_STATE_DIR: string; CNI_STORE: string; CNI_RESULTS: string; CNI_BRIDGE: string;
      FILES: readonly string[]; DIRS: readonly string[];
    };
  }
}

export interface DownScriptInput {
  agentPath: string;
  network: Ipv4Net;
  /** restart Docker so it is back on its default bridge */
  docker: boolean;
  /** a `cni` host: its plugin link and network name */
  cni?: { link: string; network: string };
}

/** Docker's network store (holds the default bridge's old subnet). */
export const DOCKER_NETWORK_STORE = '/var/lib/docker/network/files/local-kv.db';

/** Directories `up` creates, removed by `down` when empty. */
export const DOWN_DIRS = ['/etc/flannel', '/run/flannel', '/etc/systemd/system/docker.service.d'];

export function downScript(inp: DownScriptInput): string {
  const files = [...MANAGED_FILES, ...(inp.cni ? [RemotePaths.cniConflist] : []), RemotePaths.subnetEnv, inp.agentPath, AGENT_SHA_CACHE];
  return remoteScript('down', {
    AGENT_PATH: inp.agentPath, NETWORK: formatNet(inp.network), DOCKER: inp.docker ? 1 : 0,
    DOCKER_DROPIN: RemotePaths.dockerDropIn, DOCKER_KV: DOCKER_NETWORK_STORE,
    CNI: inp.cni ? 1 : 0, CNI_LINK: inp.cni?.link ?? '', CNI_STATE_DIR, CNI_BRIDGE,
    CNI_STORE: inp.cni ? `${CNI_HOST_LOCAL_DIR}/${inp.cni.network}` : '', CNI_RESULTS: inp.cni ? `${CNI_RESULTS_DIR}/${inp.cni.network}` : '',
    FILES: files, DIRS: DOWN_DIRS,
  });
}
