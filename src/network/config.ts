/**
 * flannel's network config (`<prefix>/config`): parse with Go's JSON rules (keys match
 * case-insensitively, unknown keys ignored) and validate/default exactly like flannel's
 * subnet.ParseConfig + subnet.CheckNetworkConfig, with the same error texts. Shared by the CLI
 * (validate before writing to etcd) and the agent (validate on every read).
 */
import ipaddr from 'ipaddr.js';
import { InvalidInputError } from '../util/errors.js';
import { GoJsonError, goScalar, isPlainObject, parseJson, pickFields } from './gojson.js';
import { formatIpv4, isIpv6Cidr, makeNet, maskOf, netContains, parseCidr, parseIpv4, sizeOf } from './ipv4.js';
import type { Ipv4Net, Ipv6ConfigPart, NetworkConfig, VxlanOptions } from './types.js';

/** A config that flannel would refuse; `message` is flannel's own text. Exit code 2 in the CLI. */
export class NetworkConfigError extends InvalidInputError {
  constructor(message: string, where?: string) {
    super(message, where);
    this.name = 'NetworkConfigError';
  }
}

const CONFIG_FIELDS = [
  'EnableIPv4', 'EnableIPv6', 'EnableNFTables', 'Network', 'IPv6Network', 'SubnetMin', 'SubnetMax',
  'IPv6SubnetMin', 'IPv6SubnetMax', 'SubnetLen', 'IPv6SubnetLen', 'Backend',
] as const;

function fail(message: string): never {
  throw new NetworkConfigError(message);
}

/** ip.IP4Net.UnmarshalJSON: Go's ParseCIDR on the raw text with quotes trimmed. */
function decodeIp4Net(v: unknown): Ipv4Net | undefined {
  if (v === undefined) return undefined;
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  const n = parseCidr(text);
  if (n) return n;
  if (isIpv6Cidr(text)) fail('invalid IPv4 CIDR format');
  fail(`invalid CIDR address: ${text}`);
}

/** ip.IP4.UnmarshalJSON: "Invalid IP address format" for anything that is not IPv4. */
function decodeIp4(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const ip = typeof v === 'string' ? parseIpv4(v) : undefined;
  if (ip === undefined) fail('Invalid IP address format');
  return ip;
}

function decodeIp6Net(v: unknown): { ip: bigint; prefixLen: number } | undefined {
  if (v === undefined) return undefined;
  const text = typeof v === 'string' ? v : JSON.stringify(v);
  try {
    const [addr, len] = ipaddr.parseCIDR(text);
    if (addr.kind() !== 'ipv6') fail('invalid IPv6 CIDR format');
    const ip = v6ToBig(addr as ipaddr.IPv6);
    return { ip: ip & v6Mask(len), prefixLen: len };
  } catch (e) {
    if (e instanceof NetworkConfigError) throw e;
    fail(`invalid CIDR address: ${text}`);
  }
}

function decodeIp6(v: unknown): bigint | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !ipaddr.IPv6.isValid(v)) fail('Invalid IP address format');
  return v6ToBig(ipaddr.IPv6.parse(v));
}

function v6ToBig(a: ipaddr.IPv6): bigint {
  return a.parts.reduce((acc, p) => (acc << 16n) | BigInt(p), 0n);
}
function v6Mask(len: number): bigint {
  return ((1n << 128n) - 1n) ^ ((1n << BigInt(128 - len)) - 1n);
}
function bigToV6(n: bigint): string {
  const parts: number[] = [];
  for (let i = 7; i >= 0; i--) parts.push(Number((n >> BigInt(i * 16)) & 0xffffn));
  return new ipaddr.IPv6(parts).toString();
}

function go<T extends string | boolean | number>(m: Map<string, unknown>, f: string, kind: Parameters<typeof goScalar>[1], d: T): T {
  try {
    return goScalar(m.get(f), kind, 'Config', f, d);
  } catch (e) {
    if (e instanceof GoJsonError) fail(e.message);
    throw e;
  }
}

/**
 * Parse and validate a network config (JSON text or an already-decoded object). Returns the
 * defaulted config; throws NetworkConfigError with flannel's message when flannel would refuse it.
 */
export function parseNetworkConfig(input: string | Record<string, unknown>): NetworkConfig {
  let obj: unknown;
  if (typeof input === 'string') {
    try {
      obj = parseJson(input);
    } catch (e) {
      fail((e as Error).message);
    }
  } else {
    obj = input;
  }
  if (!isPlainObject(obj)) fail(`json: cannot unmarshal ${Array.isArray(obj) ? 'array' : typeof obj} into Go value of type subnet.Config`);
  const m = pickFields(obj, CONFIG_FIELDS);

  const enableIPv4 = go(m, 'EnableIPv4', 'bool', true);
  const enableIPv6 = go(m, 'EnableIPv6', 'bool', false);
  const enableNFTables = go(m, 'EnableNFTables', 'bool', false);
  let subnetLen: number = go(m, 'SubnetLen', 'uint', 0);
  let ipv6SubnetLen: number = go(m, 'IPv6SubnetLen', 'uint', 0);
  const network = decodeIp4Net(m.get('Network')) ?? { ip: 0, prefixLen: 0 };
  let subnetMinIp = decodeIp4(m.get('SubnetMin')) ?? 0;
  let subnetMaxIp = decodeIp4(m.get('SubnetMax')) ?? 0;
  const v6net = decodeIp6Net(m.get('IPv6Network'));
  let v6min = decodeIp6(m.get('IPv6SubnetMin'));
  let v6max = decodeIp6(m.get('IPv6SubnetMax'));

  // parseBackendType: absent (or empty) Backend means "udp"; otherwise its Type, lower-cased at lookup.
  const rawBackend = m.get('Backend');
  let backendType = 'udp';
  let backendRaw: Record<string, unknown> = {};
  if (rawBackend !== undefined) {
    if (rawBackend === null) {
      backendType = '';
    } else if (!isPlainObject(rawBackend)) {
      fail(`error decoding Backend property of config: json: cannot unmarshal ${Array.isArray(rawBackend) ? 'array' : typeof rawBackend === 'boolean' ? 'bool' : typeof rawBackend} into Go value of type struct { Type string }`);
    } else {
      backendRaw = rawBackend;
      const t = pickFields(rawBackend, ['Type']).get('Type');
      if (t !== undefined && t !== null && typeof t !== 'string') {
        fail(`error decoding Backend property of config: json: cannot unmarshal ${typeof t === 'boolean' ? 'bool' : typeof t} into Go struct field .Type of type string`);
      }
      backendType = ((t as string | null | undefined) ?? '').toLowerCase();
    }
  }

  // CheckNetworkConfig, IPv4 part.
  if (enableIPv4) {
    if (network.ip === 0 && network.prefixLen === 0) fail('please define a correct Network parameter in the flannel config');
    if (subnetLen > 0) {
      if (subnetLen > 30) fail('SubnetLen must be less than /31');
      if (subnetLen < network.prefixLen + 2) fail('network must be able to accommodate at least four subnets');
    } else if (network.prefixLen > 28) {
      fail('network is too small. Minimum useful network prefix is /28');
    } else {
      subnetLen = network.prefixLen <= 22 ? 24 : network.prefixLen + 2;
    }
    const subnetSize = sizeOf(subnetLen);
    if (subnetMinIp === 0) subnetMinIp = (network.ip + subnetSize) >>> 0;
    else if (!netContains(network, subnetMinIp)) fail('SubnetMin is not in the range of the Network');
    if (subnetMaxIp === 0) subnetMaxIp = (network.ip + sizeOf(network.prefixLen) - subnetSize) >>> 0;
    else if (!netContains(network, subnetMaxIp)) fail('SubnetMax is not in the range of the Network');
    const mask = maskOf(subnetLen);
    if (((subnetMinIp & mask) >>> 0) !== subnetMinIp) fail(`SubnetMin is not on a SubnetLen boundary: ${formatIpv4(subnetMinIp)}`);
    if (((subnetMaxIp & mask) >>> 0) !== subnetMaxIp) fail(`SubnetMax is not on a SubnetLen boundary: ${formatIpv4(subnetMaxIp)}`);
  }

  let ipv6: Ipv6ConfigPart | undefined;
  if (enableIPv6) {
    if (!v6net || (v6net.ip === 0n && v6net.prefixLen === 0)) fail('please define a correct IPv6Network parameter in the flannel config');
    if (ipv6SubnetLen > 0) {
      if (ipv6SubnetLen > 126) fail('SubnetLen must be less than /127');
      if (ipv6SubnetLen < v6net.prefixLen + 2) fail('network must be able to accommodate at least four subnets');
    } else if (v6net.prefixLen > 124) {
      fail('IPv6Network is too small. Minimum useful network prefix is /124');
    } else {
      ipv6SubnetLen = v6net.prefixLen <= 62 ? 64 : v6net.prefixLen + 2;
    }
    const size = 1n << BigInt(128 - ipv6SubnetLen);
    const netMask = v6Mask(v6net.prefixLen);
    const inNet = (x: bigint) => (x & netMask) === v6net.ip;
    if (v6min === undefined || v6min === 0n) v6min = v6net.ip + size;
    else if (!inNet(v6min)) fail('IPv6SubnetMin is not in the range of the IPv6Network');
    if (v6max === undefined || v6max === 0n) v6max = v6net.ip + (1n << BigInt(128 - v6net.prefixLen)) - size;
    else if (!inNet(v6max)) fail('IPv6SubnetMax is not in the range of the IPv6Network');
    const sm = v6Mask(ipv6SubnetLen);
    if ((v6min & sm) !== v6min) fail(`IPv6SubnetMin is not on a SubnetLen boundary: ${bigToV6(v6min)}`);
    if ((v6max & sm) !== v6max) fail(`IPv6SubnetMax is not on a SubnetLen boundary: ${bigToV6(v6max)}`);
    ipv6 = {
      network: `${bigToV6(v6net.ip)}/${v6net.prefixLen}`,
      subnetLen: ipv6SubnetLen,
      subnetMin: bigToV6(v6min),
      subnetMax: bigToV6(v6max),
    };
  }

  const cfg: NetworkConfig = {
    enableIPv4,
    enableIPv6,
    network,
    subnetLen,
    subnetMin: makeNet(subnetMinIp, subnetLen),
    subnetMax: makeNet(subnetMaxIp, subnetLen),
    backendType,
    backendRaw,
    enableNFTables,
  };
  if (ipv6) cfg.ipv6 = ipv6;
  return cfg;
}

/** Like parseNetworkConfig, but returns the error text instead of throwing (for preflight reports). */
export function validateNetworkConfig(input: string | Record<string, unknown>): { ok: true; config: NetworkConfig } | { ok: false; error: string } {
  try {
    return { ok: true, config: parseNetworkConfig(input) };
  } catch (e) {
    if (e instanceof NetworkConfigError) return { ok: false, error: e.message };
    throw e;
  }
}

/** Number of subnets between SubnetMin and SubnetMax inclusive (what "Picking subnet in range" spans). */
export function subnetCount(cfg: NetworkConfig): number {
  if (cfg.subnetMax.ip < cfg.subnetMin.ip) return 0;
  return Math.floor((cfg.subnetMax.ip - cfg.subnetMin.ip) / sizeOf(cfg.subnetLen)) + 1;
}

/** flannel's vxlan backend config decode (`error decoding VXLAN backend config: ...`). */
export function decodeVxlanOptions(backendRaw: Record<string, unknown>): VxlanOptions {
  const m = pickFields(backendRaw, ['VNI', 'Port', 'MTU', 'GBP', 'Learning', 'DirectRouting']);
  try {
    return {
      vni: goScalar(m.get('VNI'), 'int', '', 'VNI', 1),
      port: goScalar(m.get('Port'), 'int', '', 'Port', 0),
      mtu: goScalar(m.get('MTU'), 'int', '', 'MTU', 0),
      gbp: goScalar(m.get('GBP'), 'bool', '', 'GBP', false),
      learning: goScalar(m.get('Learning'), 'bool', '', 'Learning', false),
      directRouting: goScalar(m.get('DirectRouting'), 'bool', '', 'DirectRouting', false),
    };
  } catch (e) {
    if (e instanceof GoJsonError) throw new NetworkConfigError(`error decoding VXLAN backend config: ${e.message}`);
    throw e;
  }
}

/** The "Picking subnet in range a ... b" range, as flannel logs it. */
export function describeRange(cfg: NetworkConfig): string {
  return `${formatIpv4(cfg.subnetMin.ip)} ... ${formatIpv4(cfg.subnetMax.ip)}`;
}
