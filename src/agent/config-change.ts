/**
 * What a new network config means for a running agent (pure, unit-tested): nothing, a backend switch it
 * can apply live (issue 5: only Backend.Type changed), or changes that need a restart (Network,
 * SubnetLen/Min/Max, IPv6, the options of the running backend such as VNI/Port/MTU/DirectRouting).
 */
import { formatNet, netEquals } from '../network/ipv4.js';
import type { NetworkConfig } from '../network/types.js';
import { goJsonValue } from '../network/gojson.js';

export type ConfigChange =
  | { kind: 'none' }
  /** only the backend type changed: switch live (make-before-break) */
  | { kind: 'backend'; from: string; to: string }
  /** something that cannot be applied live changed; `what` names each difference */
  | { kind: 'restart'; what: string[] };

/** Backend options without Type, keys lower-cased (flannel decodes them case-insensitively). */
export function backendOptionsKey(raw: Record<string, unknown>): string {
  const o: Record<string, unknown> = {};
  for (const k of Object.keys(raw).sort()) if (k.toLowerCase() !== 'type') o[k.toLowerCase()] = raw[k];
  return goJsonValue(o);
}

export function classifyConfigChange(cur: NetworkConfig, next: NetworkConfig): ConfigChange {
  const what: string[] = [];
  const net = (a: NetworkConfig) => formatNet(a.network);
  if (!netEquals(cur.network, next.network)) what.push(`Network ${net(cur)} -> ${net(next)}`);
  if (cur.subnetLen !== next.subnetLen) what.push(`SubnetLen ${cur.subnetLen} -> ${next.subnetLen}`);
  if (!netEquals(cur.subnetMin, next.subnetMin)) what.push(`SubnetMin ${formatNet(cur.subnetMin)} -> ${formatNet(next.subnetMin)}`);
  if (!netEquals(cur.subnetMax, next.subnetMax)) what.push(`SubnetMax ${formatNet(cur.subnetMax)} -> ${formatNet(next.subnetMax)}`);
  if (cur.enableIPv4 !== next.enableIPv4) what.push(`EnableIPv4 ${cur.enableIPv4} -> ${next.enableIPv4}`);
  if (cur.enableIPv6 !== next.enableIPv6) what.push(`EnableIPv6 ${cur.enableIPv6} -> ${next.enableIPv6}`);
  if (cur.enableNFTables !== next.enableNFTables) what.push(`EnableNFTables ${cur.enableNFTables} -> ${next.enableNFTables}`);
  if (JSON.stringify(cur.ipv6 ?? null) !== JSON.stringify(next.ipv6 ?? null)) what.push('IPv6 settings');
  const typeChanged = cur.backendType !== next.backendType;
  if (!typeChanged && backendOptionsKey(cur.backendRaw) !== backendOptionsKey(next.backendRaw)) {
    what.push(`${cur.backendType} options ${backendOptionsKey(cur.backendRaw)} -> ${backendOptionsKey(next.backendRaw)}`);
  }
  if (what.length) {
    if (typeChanged) what.unshift(`Backend ${cur.backendType} -> ${next.backendType}`);
    return { kind: 'restart', what };
  }
  return typeChanged ? { kind: 'backend', from: cur.backendType, to: next.backendType } : { kind: 'none' };
}
