/**
 * subnet.env, byte-compatible with flannel's WriteSubnetFile: KEY=value lines in flannel's order,
 * `\n` endings, no quotes, FLANNEL_SUBNET = lease network address + 1, Go booleans. The parser
 * accepts what godotenv would for these keys (quotes, `export`, comments) so a hand-edited file or
 * one written by Go flanneld is read back the same.
 */
import { firstHost, formatIpv4, formatNet, makeNet, parseCidr } from './ipv4.js';
import type { Ipv4Net } from './types.js';

/** flannel's default -subnet-file (the agent writes it there; the CNI plugin and Docker's drop-in read it). */
export const DEFAULT_SUBNET_FILE = '/run/flannel/subnet.env';

export interface SubnetEnv {
  /** cluster Network (FLANNEL_NETWORK), when IPv4 is enabled */
  network?: Ipv4Net;
  /** this node's lease subnet (written as network + 1 / len) */
  subnet?: Ipv4Net;
  ipv6Network?: string;
  /** already in flannel's "network + 1/len" form */
  ipv6Subnet?: string;
  mtu: number;
  ipMasq: boolean;
}

export function formatSubnetEnv(e: SubnetEnv): string {
  let s = '';
  if (e.network) s += `FLANNEL_NETWORK=${formatNet(e.network)}\n`;
  if (e.subnet) s += `FLANNEL_SUBNET=${formatIpv4(firstHost(e.subnet))}/${e.subnet.prefixLen}\n`;
  if (e.ipv6Network) s += `FLANNEL_IPV6_NETWORK=${e.ipv6Network}\n`;
  if (e.ipv6Subnet) s += `FLANNEL_IPV6_SUBNET=${e.ipv6Subnet}\n`;
  s += `FLANNEL_MTU=${e.mtu}\n`;
  s += `FLANNEL_IPMASQ=${e.ipMasq ? 'true' : 'false'}\n`;
  return s;
}

/** KEY=value pairs as godotenv reads them (enough for flannel's own keys). */
export function parseEnvText(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.]*)\s*[=:]\s*(.*)$/.exec(line);
    if (!m) continue;
    let v = m[2]!;
    const q = v[0];
    if ((q === '"' || q === "'") && v.endsWith(q) && v.length >= 2) v = v.slice(1, -1);
    else v = v.replace(/\s+#.*$/, '').trim();
    out.set(m[1]!, v);
  }
  return out;
}

/** What flanneld reads back at start: the previous subnet (masked to its network address) etc. */
export interface PreviousSubnetEnv {
  network?: Ipv4Net;
  subnet?: Ipv4Net;
  mtu?: number;
  ipMasq?: boolean;
}

export function parseSubnetEnv(text: string): PreviousSubnetEnv {
  const env = parseEnvText(text);
  const r: PreviousSubnetEnv = {};
  // flannel accepts comma-separated CIDRs but treats more than one as an error: take a single value only.
  const one = (k: string) => {
    const v = env.get(k);
    if (v === undefined || v.includes(',')) return undefined;
    return parseCidr(v);
  };
  const net = one('FLANNEL_NETWORK');
  if (net) r.network = net;
  const sn = one('FLANNEL_SUBNET');
  if (sn) r.subnet = makeNet(sn.ip, sn.prefixLen);
  const mtu = env.get('FLANNEL_MTU');
  if (mtu !== undefined && /^\d+$/.test(mtu)) r.mtu = Number(mtu);
  const masq = env.get('FLANNEL_IPMASQ');
  if (masq === 'true' || masq === 'false') r.ipMasq = masq === 'true';
  return r;
}

/** The keys a consumer of the IPv4 network needs (flannel's CNI plugin refuses a file without them). */
export const REQUIRED_SUBNET_ENV_KEYS = ['FLANNEL_NETWORK', 'FLANNEL_SUBNET', 'FLANNEL_MTU', 'FLANNEL_IPMASQ'] as const;

/** Which of REQUIRED_SUBNET_ENV_KEYS `e` lacks (absent or not parseable), in the file's order. */
export function missingSubnetEnvKeys(e: PreviousSubnetEnv): string[] {
  const have: Record<(typeof REQUIRED_SUBNET_ENV_KEYS)[number], boolean> = {
    FLANNEL_NETWORK: !!e.network, FLANNEL_SUBNET: !!e.subnet, FLANNEL_MTU: e.mtu !== undefined, FLANNEL_IPMASQ: e.ipMasq !== undefined,
  };
  return REQUIRED_SUBNET_ENV_KEYS.filter((k) => !have[k]);
}
