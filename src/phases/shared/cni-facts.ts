/**
 * Facts of a `flannel_runtime: cni` host, gathered by the facts script itself (facts.sh facts_cni): the
 * plugin link, which of the plugins the network needs are in the CNI bin directories, the other network
 * configs, Podman, the cni0 bridge and the veths on it. The script's input and the parser, like facts.ts.
 */
import { CNI_BRIDGE, CNI_CONF_DIR, CNI_DEBIAN_BIN_DIR, CNI_PLUGIN_TYPE, CNI_REQUIRED_PLUGINS } from '../../network/cni.js';
import type { HostSpec } from '../../inventory/types.js';
import { jsonOr, parseSections, section } from '../../remote/sections.js';
import type { CniFactsInput } from './facts.js';

declare module '../framework/types.js' {
  interface HostFacts {
    /** a `cni` host's CNI facts (gather-facts.ts) */
    cni?: CniFacts;
    /** this run changed the host's bridge or its containers' MTU (an early probe from before is stale) */
    cniChanged?: boolean;
  }
}

export interface CniLink {
  kind: 'symlink' | 'file';
  /** the symlink's target as written */
  target?: string;
}

export interface CniBridgeState {
  mtu: number;
  /** IPv4 addresses "a.b.c.d/len" */
  addrs: string[];
}

export interface CniFacts {
  /** <flannel_cni_bin_dir>/flannel as it is (absent: undefined) */
  link?: CniLink;
  /** required plugin → the directories it was found in (executable files) */
  plugins: Map<string, string[]>;
  /** file names in /etc/cni/net.d */
  confs: string[];
  /** podman is installed (verify runs its probe with it) */
  podman: boolean;
  bridge?: CniBridgeState;
  /** interfaces enslaved to cni0 (the host sides of the containers' veths) */
  ports: { name: string; mtu: number }[];
}

/** The directories searched for bridge, host-local and portmap: the inventory's, then Debian's. */
export function cniBinDirs(spec: Pick<HostSpec, 'flannel'>): string[] {
  return [...new Set([spec.flannel.cni.binDir, CNI_DEBIAN_BIN_DIR])];
}

/** The facts script's CNI part (facts.sh facts_cni: same script, same request as the other facts). */
export function cniFactsInput(spec: Pick<HostSpec, 'flannel'>): CniFactsInput {
  return {
    link: `${spec.flannel.cni.binDir}/${CNI_PLUGIN_TYPE}`, dirs: cniBinDirs(spec), plugins: CNI_REQUIRED_PLUGINS,
    confDir: CNI_CONF_DIR, bridge: CNI_BRIDGE,
  };
}

export function parseCniFacts(stdout: string): CniFacts {
  const s = parseSections(stdout);
  const body = (n: string) => section(s, n)?.body ?? '';
  const lines = (n: string) => body(n).split('\n').map((l) => l.trim()).filter(Boolean);
  const linkLine = lines('cni_link')[0];
  let link: CniLink | undefined;
  if (linkLine?.startsWith('symlink ')) link = { kind: 'symlink', target: linkLine.slice(8) };
  else if (linkLine === 'file') link = { kind: 'file' };
  const plugins = new Map<string, string[]>(CNI_REQUIRED_PLUGINS.map((p) => [p, []]));
  for (const path of lines('cni_plugins')) {
    const i = path.lastIndexOf('/');
    plugins.get(path.slice(i + 1))?.push(path.slice(0, i));
  }
  const br = jsonOr<{ mtu: number; addr_info?: { family: string; local: string; prefixlen: number }[] }[]>(body('cni_bridge'), [])[0];
  const ports = jsonOr<{ ifname: string; mtu: number }[]>(body('cni_ports'), []).map((p) => ({ name: p.ifname, mtu: p.mtu }));
  return {
    ...(link ? { link } : {}),
    plugins,
    confs: lines('cni_confs'),
    podman: lines('cni_podman').length > 0,
    ...(br ? { bridge: { mtu: br.mtu, addrs: (br.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`) } } : {}),
    ports,
  };
}
