/**
 * An Ansible YAML inventory from a described cluster (`flanprov adopt --write-inventory`): the settings
 * every node shares in all.vars, the rest on the hosts, every host under the `nodes` group. A setting that
 * is equal on every host goes to all.vars once (what a person would write); a comment says where each
 * group of settings came from.
 */
import { Document, isMap, isSeq } from 'yaml';

export type InventoryValue = string | number | boolean | string[];

export interface InventoryHostEntry {
  name: string;
  /** connection settings (ansible_*) and the host's own flannel settings */
  vars: Record<string, InventoryValue>;
}

export interface InventoryDescription {
  /** comment lines at the top of the file */
  header: string[];
  /** settings that are cluster-wide by nature (network, etcd) */
  clusterVars: Record<string, InventoryValue>;
  hosts: InventoryHostEntry[];
}

const same = (a: InventoryValue | undefined, b: InventoryValue | undefined): boolean => JSON.stringify(a) === JSON.stringify(b);

/** Host settings equal on every host, lifted to all.vars (only when every host has the key). */
export function hoistCommonVars(hosts: InventoryHostEntry[]): { common: Record<string, InventoryValue>; hosts: InventoryHostEntry[] } {
  const common: Record<string, InventoryValue> = {};
  if (hosts.length > 1) {
    for (const [k, v] of Object.entries(hosts[0]!.vars)) {
      if (hosts.every((h) => k in h.vars && same(h.vars[k], v))) common[k] = v;
    }
  }
  return {
    common,
    hosts: hosts.map((h) => ({ name: h.name, vars: Object.fromEntries(Object.entries(h.vars).filter(([k]) => !(k in common))) })),
  };
}

export function inventoryYaml(d: InventoryDescription): string {
  const { common, hosts } = hoistCommonVars(d.hosts);
  const doc = new Document({
    all: {
      vars: { ...d.clusterVars, ...common },
      children: { nodes: { hosts: Object.fromEntries(hosts.map((h) => [h.name, Object.keys(h.vars).length ? h.vars : null])) } },
    },
  });
  doc.commentBefore = d.header.map((l) => ` ${l}`).join('\n');
  // lists of endpoints and interfaces read better inline
  const flowLists = (m: unknown): void => {
    if (!isMap(m)) return;
    for (const item of m.items) {
      if (isSeq(item.value)) item.value.flow = true;
      else flowLists(item.value);
    }
  };
  flowLists(doc.contents);
  return doc.toString({ lineWidth: 0 });
}
