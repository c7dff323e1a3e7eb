/**
 * Is the network config already in etcd the one the inventory asks for? The comparison is the agent's own
 * (network/config-compare.ts: flannel's defaults applied, keys case-insensitive); this file adds the
 * CLI's view of it: an unparsable stored config, and the refusal text.
 */
import { parseNetworkConfig } from '../../network/config.js';
import { BACKEND_FIELD, diffConfigs, type ConfigDiffLine } from '../../network/config-compare.js';

export type { ConfigDiffLine };

export type ConfigComparison =
  | { equal: true }
  | { equal: false; diff: ConfigDiffLine[]; backendChanged: boolean; currentInvalid?: string };

export function compareConfigs(wanted: Record<string, unknown> | string, currentText: string): ConfigComparison {
  const w = parseNetworkConfig(wanted);
  let cur;
  try {
    cur = parseNetworkConfig(currentText);
  } catch (e) {
    return {
      equal: false,
      backendChanged: false,
      currentInvalid: (e as Error).message,
      diff: [{ field: '(whole config)', current: currentText.trim(), wanted: typeof wanted === 'string' ? wanted : JSON.stringify(wanted) }],
    };
  }
  const diff = diffConfigs(cur, w);
  if (!diff.length) return { equal: true };
  return { equal: false, diff, backendChanged: cur.backendType !== w.backendType };
}

/** The refusal text: a diff and where to go from here. */
export function formatConfigDiff(key: string, c: Extract<ConfigComparison, { equal: false }>): string {
  const lines = [`the network config in etcd (${key}) differs from the inventory:`];
  if (c.currentInvalid) lines.push(`  the stored config is invalid: ${c.currentInvalid}`);
  const w = Math.max(...c.diff.map((d) => d.field.length));
  for (const d of c.diff) lines.push(`  ${d.field.padEnd(w)}  etcd: ${d.current}  →  inventory: ${d.wanted}`);
  lines.push(
    c.backendChanged
      ? `  the backend differs: use \`flanprov switch-backend ${c.diff.find((d) => d.field === `${BACKEND_FIELD}Type`)?.wanted ?? 'TYPE'}\` to move the live cluster`
      : '  flanprov does not overwrite a live config: change the inventory to match, or change etcd deliberately (backend changes: `flanprov switch-backend`)',
  );
  return lines.join('\n');
}
