/**
 * The one notion of "the same network config", shared by the CLI (is etcd's config the inventory's?) and
 * the agent (what does a changed config mean for me?). Both sides compare the fields flannel acts on,
 * with flannel's defaults applied, so `{"Backend":{"Type":"vxlan","VNI":1,"Port":8472}}` equals
 * `{"Backend":{"Type":"vxlan"}}` everywhere.
 */
import { vxlanPort } from './backends.js';
import { decodeVxlanOptions } from './config.js';
import { goJsonValue } from './gojson.js';
import { formatIpv4, formatNet } from './ipv4.js';
import type { NetworkConfig } from './types.js';

export interface ConfigDiffLine {
  field: string;
  current: string;
  wanted: string;
}

/** Prefix of the fields that belong to the backend (its type and options). */
export const BACKEND_FIELD = 'Backend.';

/**
 * The fields flannel acts on, as display strings, defaults applied. Backend options are decoded for vxlan
 * (so explicit defaults vanish) and kept as normalised JSON (keys lower-cased) for any other type.
 */
export function configFields(c: NetworkConfig): Map<string, string> {
  const m = new Map<string, string>();
  m.set('EnableIPv4', String(c.enableIPv4));
  m.set('Network', formatNet(c.network));
  m.set('SubnetLen', String(c.subnetLen));
  m.set('SubnetMin', formatIpv4(c.subnetMin.ip));
  m.set('SubnetMax', formatIpv4(c.subnetMax.ip));
  m.set('EnableIPv6', String(c.enableIPv6));
  if (c.ipv6) {
    m.set('IPv6Network', c.ipv6.network);
    m.set('IPv6SubnetLen', String(c.ipv6.subnetLen));
    m.set('IPv6SubnetMin', c.ipv6.subnetMin);
    m.set('IPv6SubnetMax', c.ipv6.subnetMax);
  }
  m.set('EnableNFTables', String(c.enableNFTables));
  for (const [k, v] of backendFields(c)) m.set(k, v);
  return m;
}

/** The backend's own fields: Backend.Type and its options with defaults applied. */
export function backendFields(c: NetworkConfig): Map<string, string> {
  const m = new Map<string, string>();
  m.set(`${BACKEND_FIELD}Type`, c.backendType);
  if (c.backendType === 'vxlan') {
    const o = decodeVxlanOptions(c.backendRaw);
    m.set(`${BACKEND_FIELD}VNI`, String(o.vni));
    m.set(`${BACKEND_FIELD}Port`, String(vxlanPort(o.port)));
    m.set(`${BACKEND_FIELD}MTU`, o.mtu ? String(o.mtu) : '(interface MTU)');
    m.set(`${BACKEND_FIELD}DirectRouting`, String(o.directRouting));
    m.set(`${BACKEND_FIELD}GBP`, String(o.gbp));
    m.set(`${BACKEND_FIELD}Learning`, String(o.learning));
  } else if (c.backendType !== 'host-gw') {
    // a backend we do not decode: its options as written, keys case-folded as flannel reads them
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(c.backendRaw).sort()) if (k.toLowerCase() !== 'type') o[k.toLowerCase()] = c.backendRaw[k];
    if (Object.keys(o).length) m.set(`${BACKEND_FIELD}Options`, goJsonValue(o));
  }
  return m;
}

/** Field-by-field differences, in a stable order (current's fields first, then wanted's extra ones). */
export function diffConfigs(current: NetworkConfig, wanted: NetworkConfig): ConfigDiffLine[] {
  const cur = configFields(current);
  const w = configFields(wanted);
  const diff: ConfigDiffLine[] = [];
  for (const k of new Set([...cur.keys(), ...w.keys()])) {
    const a = cur.get(k) ?? '(unset)';
    const b = w.get(k) ?? '(unset)';
    if (a !== b) diff.push({ field: k, current: a, wanted: b });
  }
  return diff;
}

/** Same backend type with the same options (defaults applied)? */
export function sameBackend(a: NetworkConfig, b: NetworkConfig): boolean {
  const fa = backendFields(a);
  const fb = backendFields(b);
  return fa.size === fb.size && [...fa].every(([k, v]) => fb.get(k) === v);
}

export type ConfigChange =
  | { kind: 'none' }
  /** only the backend type changed: switch live (make-before-break) */
  | { kind: 'backend'; from: string; to: string }
  /** something that cannot be applied live changed; `what` names each difference */
  | { kind: 'restart'; what: string[] };

/**
 * What a new config means for a running agent: nothing, a backend switch it can apply live (the type
 * changed, nothing else), or changes that need a restart (Network, SubnetLen/Min/Max, IPv6, nftables,
 * or the options of the running backend such as VNI/Port/MTU/DirectRouting).
 */
export function classifyConfigChange(cur: NetworkConfig, next: NetworkConfig): ConfigChange {
  const diff = diffConfigs(cur, next);
  const typeChanged = cur.backendType !== next.backendType;
  // with another type, the new type's options are new by definition: only the network part can block
  const blocking = diff.filter((d) => !typeChanged || !d.field.startsWith(BACKEND_FIELD));
  if (blocking.length) {
    const what = blocking.map((d) => `${d.field} ${d.current} -> ${d.wanted}`);
    if (typeChanged) what.unshift(`Backend ${cur.backendType} -> ${next.backendType}`);
    return { kind: 'restart', what };
  }
  return typeChanged ? { kind: 'backend', from: cur.backendType, to: next.backendType } : { kind: 'none' };
}

