/**
 * flannel's lease format on etcd: the key `<a.b.c.d>-<len>[&<v6>-<len6>]` under `<prefix>/subnets/`
 * and the value, Go's json.Marshal of subnet.LeaseAttrs (field order, `PublicIPv6: null`, omitted
 * empty BackendType/BackendData), byte for byte, so Go flanneld peers and we read each other.
 */
import { GoJsonError, goJsonString, goJsonValue, isPlainObject, parseJson, pickFields } from './gojson.js';
import { formatIpv4, parseIpv4 } from './ipv4.js';
import type { Ipv4Net, LeaseAttrs } from './types.js';

/** flannel's subnetRegex (pkg/subnet/subnet.go), unchanged. */
export const SUBNET_KEY_REGEX = /(\d+\.\d+.\d+.\d+)-(\d+)(?:&([a-f\d:]+)-(\d+))?$/;

/** `10.5.34.0/24` -> `10.5.34.0-24` (flannel's MakeSubnetKey, IPv4 only). */
export function makeSubnetKey(sn: Ipv4Net): string {
  return `${formatIpv4(sn.ip)}-${sn.prefixLen}`;
}

export interface ParsedSubnetKey {
  subnet: Ipv4Net;
  /** the IPv6 half of a dual-stack key, as written */
  ipv6?: string;
}

/**
 * The subnet a key (or the last path element of a full etcd key) names, or undefined when flannel
 * would skip it ("Ignoring bad subnet node"). The regex is applied to the whole string, as flannel does.
 */
export function parseSubnetKey(key: string): ParsedSubnetKey | undefined {
  const m = SUBNET_KEY_REGEX.exec(key);
  if (!m) return undefined;
  const ip = parseIpv4(m[1]!);
  const len = Number(m[2]);
  if (ip === undefined || !(len >= 0 && len <= 32)) return undefined;
  const r: ParsedSubnetKey = { subnet: { ip, prefixLen: len } };
  if (m[3] !== undefined) r.ipv6 = `${m[3]}/${m[4]}`;
  return r;
}

/** Go's json.Marshal(LeaseAttrs). */
export function encodeLeaseAttrs(a: LeaseAttrs): string {
  let s = `{"PublicIP":${goJsonString(a.PublicIP)},"PublicIPv6":${a.PublicIPv6 === null ? 'null' : goJsonString(a.PublicIPv6)}`;
  if (a.BackendType) s += `,"BackendType":${goJsonString(a.BackendType)}`;
  if (a.BackendData !== undefined && a.BackendData !== null) s += `,"BackendData":${goJsonValue(a.BackendData)}`;
  if (a.BackendV6Data !== undefined && a.BackendV6Data !== null) s += `,"BackendV6Data":${goJsonValue(a.BackendV6Data)}`;
  return `${s}}`;
}

export class LeaseFormatError extends Error {}

/**
 * Go's json.Unmarshal into LeaseAttrs: keys case-insensitive; legacy values without PublicIPv6,
 * BackendType (udp/alloc, old agents) or VNI are fine. PublicIP must be an IPv4 address.
 */
export function decodeLeaseAttrs(text: string): LeaseAttrs {
  let v: unknown;
  try {
    v = parseJson(text);
  } catch (e) {
    throw new LeaseFormatError((e as GoJsonError).message);
  }
  if (!isPlainObject(v)) throw new LeaseFormatError('json: cannot unmarshal non-object into Go value of type lease.LeaseAttrs');
  const m = pickFields(v, ['PublicIP', 'PublicIPv6', 'BackendType', 'BackendData', 'BackendV6Data']);
  const pub = m.get('PublicIP');
  const pubIp = typeof pub === 'string' ? parseIpv4(pub) : undefined;
  if (pub !== undefined && pubIp === undefined) throw new LeaseFormatError('Invalid IP address format');
  const pub6 = m.get('PublicIPv6');
  const bt = m.get('BackendType');
  if (bt !== undefined && bt !== null && typeof bt !== 'string') {
    throw new LeaseFormatError('json: cannot unmarshal non-string into Go struct field LeaseAttrs.BackendType of type string');
  }
  const attrs: LeaseAttrs = {
    PublicIP: formatIpv4(pubIp ?? 0),
    PublicIPv6: typeof pub6 === 'string' ? pub6 : null,
  };
  if (typeof bt === 'string' && bt !== '') attrs.BackendType = bt;
  if (m.get('BackendData') !== undefined && m.get('BackendData') !== null) attrs.BackendData = m.get('BackendData');
  if (m.get('BackendV6Data') !== undefined && m.get('BackendV6Data') !== null) attrs.BackendV6Data = m.get('BackendV6Data');
  return attrs;
}

/** vxlan BackendData: {"VNI":n,"VtepMAC":"aa:bb:.."}; old agents (<= v0.10) wrote only VtepMAC. */
export interface VxlanLeaseData {
  VNI?: number;
  VtepMAC: string;
}

/** Build vxlan BackendData in Go's field order. The MAC is lower-cased like Go's net.HardwareAddr. */
export function vxlanBackendData(vni: number, mac: string): VxlanLeaseData {
  return { VNI: vni, VtepMAC: mac.toLowerCase() };
}

/** Read VtepMAC (case-insensitive key, as Go decodes it); undefined when absent or malformed. */
export function vxlanLeaseData(attrs: LeaseAttrs): VxlanLeaseData | undefined {
  if (!isPlainObject(attrs.BackendData)) return undefined;
  const m = pickFields(attrs.BackendData, ['VNI', 'VtepMAC']);
  const mac = m.get('VtepMAC');
  if (typeof mac !== 'string' || !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac)) return undefined;
  const vni = m.get('VNI');
  const r: VxlanLeaseData = { VtepMAC: mac.toLowerCase() };
  if (typeof vni === 'number') r.VNI = vni;
  return r;
}

/** Same lease content (what a renewal must not change and a watcher compares). */
export function sameLeaseAttrs(a: LeaseAttrs, b: LeaseAttrs): boolean {
  return encodeLeaseAttrs(a) === encodeLeaseAttrs(b);
}
