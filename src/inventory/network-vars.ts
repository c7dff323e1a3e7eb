/**
 * The inverse of buildNetworkConfig (load.ts): the inventory variables that describe a network config
 * found in etcd (`flanprov adopt --write-inventory`). Only what the stored config sets is written; the
 * result is checked by the round trip (variables → config → flannel's field-by-field comparison, defaults
 * applied), so an inventory written from it can never disagree with etcd. A config the inventory cannot
 * express (IPv6, nftables, a backend flanprov does not run) is refused naming the fields.
 */
import { parseNetworkConfig } from '../network/config.js';
import { diffConfigs, type ConfigDiffLine } from '../network/config-compare.js';
import { BACKEND_TYPES, isBackendType, type BackendType } from '../network/backends.js';
import { isPlainObject, parseJson, pickFields } from '../network/gojson.js';
import { buildNetworkConfig } from './load.js';
import type { ClusterNetworkSettings } from './types.js';

export type NetworkVars = Record<string, string | number | boolean>;

export type NetworkVarsResult =
  | { ok: true; vars: NetworkVars; settings: ClusterNetworkSettings }
  | { ok: false; error: string; diff?: ConfigDiffLine[] };

const TOP = ['Network', 'SubnetLen', 'SubnetMin', 'SubnetMax', 'Backend'] as const;
const VXLAN = ['Type', 'VNI', 'Port', 'MTU', 'DirectRouting'] as const;

export function networkVarsOf(configText: string): NetworkVarsResult {
  let stored;
  try {
    stored = parseNetworkConfig(configText);
  } catch (e) {
    return { ok: false, error: `the stored network config is invalid for flannel: ${(e as Error).message}` };
  }
  const raw = parseJson(configText);
  if (!isPlainObject(raw)) return { ok: false, error: 'the stored network config is not a JSON object' };
  const top = pickFields(raw, TOP);
  const backend = isPlainObject(top.get('Backend')) ? pickFields(top.get('Backend') as Record<string, unknown>, VXLAN) : new Map<string, unknown>();
  const type = stored.backendType;
  if (!isBackendType(type)) return { ok: false, error: `the stored network config uses backend "${type}"; flanprov runs ${BACKEND_TYPES.join(' and ')} (switch the cluster to one of them first)` };
  const s: ClusterNetworkSettings = { network: String(top.get('Network')), backend: type as BackendType };
  const vars: NetworkVars = { flannel_network: s.network, flannel_backend: s.backend };
  const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
  if (num(top.get('SubnetLen')) !== undefined) { s.subnetLen = num(top.get('SubnetLen'))!; vars.flannel_subnet_len = s.subnetLen; }
  if (typeof top.get('SubnetMin') === 'string') { s.subnetMin = top.get('SubnetMin') as string; vars.flannel_subnet_min = s.subnetMin; }
  if (typeof top.get('SubnetMax') === 'string') { s.subnetMax = top.get('SubnetMax') as string; vars.flannel_subnet_max = s.subnetMax; }
  if (type === 'vxlan') {
    if (num(backend.get('VNI')) !== undefined) { s.vni = num(backend.get('VNI'))!; vars.flannel_vni = s.vni; }
    if (num(backend.get('Port')) !== undefined) { s.port = num(backend.get('Port'))!; vars.flannel_port = s.port; }
    if (num(backend.get('MTU')) !== undefined) { s.mtu = num(backend.get('MTU'))!; vars.flannel_mtu = s.mtu; }
    if (typeof backend.get('DirectRouting') === 'boolean') { s.directRouting = backend.get('DirectRouting') as boolean; vars.flannel_direct_routing = s.directRouting; }
  }
  // the round trip: what the inventory would write must be what etcd holds, field by field
  const diff = diffConfigs(stored, parseNetworkConfig(buildNetworkConfig(s)));
  if (diff.length) {
    return { ok: false, diff, error: `the stored network config sets what an inventory cannot express: ${diff.map((d) => `${d.field} ${d.current}`).join(', ')}` };
  }
  return { ok: true, vars, settings: s };
}
