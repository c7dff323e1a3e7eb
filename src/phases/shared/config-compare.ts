/**
 * Is the network config already in etcd the one the inventory asks for? Compared semantically: both sides
 * go through the shared validator (case-insensitive keys, flannel's defaults), so `{"network": ...}` and
 * `{"Network": ..., "SubnetLen": 24}` are equal when flannel would treat them the same.
 */
import { decodeVxlanOptions, parseNetworkConfig } from '../../network/config.js';
import { formatIpv4, formatNet } from '../../network/ipv4.js';
import type { NetworkConfig } from '../../network/types.js';

export interface ConfigDiffLine {
  field: string;
  current: string;
  wanted: string;
}

export type ConfigComparison =
  | { equal: true }
  | { equal: false; diff: ConfigDiffLine[]; backendChanged: boolean; currentInvalid?: string };

/** The fields flannel acts on, as display strings (defaults applied). */
function summarize(c: NetworkConfig): Map<string, string> {
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
  }
  m.set('EnableNFTables', String(c.enableNFTables));
  m.set('Backend.Type', c.backendType);
  if (c.backendType === 'vxlan') {
    const o = decodeVxlanOptions(c.backendRaw);
    m.set('Backend.VNI', String(o.vni));
    m.set('Backend.Port', String(o.port || 8472));
    m.set('Backend.MTU', o.mtu ? String(o.mtu) : '(interface MTU)');
    m.set('Backend.DirectRouting', String(o.directRouting));
    m.set('Backend.GBP', String(o.gbp));
    m.set('Backend.Learning', String(o.learning));
  }
  return m;
}

export function compareConfigs(wanted: Record<string, unknown> | string, currentText: string): ConfigComparison {
  const w = summarize(parseNetworkConfig(wanted));
  let cur: Map<string, string>;
  try {
    cur = summarize(parseNetworkConfig(currentText));
  } catch (e) {
    return {
      equal: false,
      backendChanged: false,
      currentInvalid: (e as Error).message,
      diff: [{ field: '(whole config)', current: currentText.trim(), wanted: typeof wanted === 'string' ? wanted : JSON.stringify(wanted) }],
    };
  }
  const diff: ConfigDiffLine[] = [];
  for (const k of new Set([...cur.keys(), ...w.keys()])) {
    const a = cur.get(k) ?? '(unset)';
    const b = w.get(k) ?? '(unset)';
    if (a !== b) diff.push({ field: k, current: a, wanted: b });
  }
  if (!diff.length) return { equal: true };
  return { equal: false, diff, backendChanged: cur.get('Backend.Type') !== w.get('Backend.Type') };
}

/** The refusal text: a diff and where to go from here. */
export function formatConfigDiff(key: string, c: Extract<ConfigComparison, { equal: false }>): string {
  const lines = [`the network config in etcd (${key}) differs from the inventory:`];
  if (c.currentInvalid) lines.push(`  the stored config is invalid: ${c.currentInvalid}`);
  const w = Math.max(...c.diff.map((d) => d.field.length));
  for (const d of c.diff) lines.push(`  ${d.field.padEnd(w)}  etcd: ${d.current}  →  inventory: ${d.wanted}`);
  lines.push(
    c.backendChanged
      ? `  the backend differs: use \`flanprov switch-backend ${c.diff.find((d) => d.field === 'Backend.Type')?.wanted ?? 'TYPE'}\` to move the live cluster`
      : '  flanprov does not overwrite a live config: change the inventory to match, or change etcd deliberately (backend changes: `flanprov switch-backend`)',
  );
  return lines.join('\n');
}
