/**
 * One host's variables, merged in Ansible's order (VariableManager.get_vars with the default
 * VARIABLE_PRECEDENCE; later wins, a dict replaces a dict):
 *   1. `all` vars from the inventory files
 *   2. the host's other groups' vars from the inventory files, by (depth, ansible_group_priority, name)
 *   3. group_vars/all beside each source, in source order
 *   4. group_vars/GROUP beside each source: for each source, the groups in the order of 2
 *   5. the host's vars from the inventory files
 *   6. host_vars/HOST beside each source, in source order
 */
import type { Inventory, VarDef } from './model.js';
import { sortGroups } from './model.js';
import { varsBaseOf, varsFilesFor, type VarsFileReader } from './vars-files.js';

export function mergedHostVars(inv: Inventory, host: string, reader: VarsFileReader): Map<string, VarDef> {
  const out = new Map<string, VarDef>();
  const put = (m: Map<string, VarDef>): void => { for (const [k, v] of m) out.set(k, v); };
  const groups = sortGroups(inv.hostGroups(host).filter((g) => g.name !== 'all'));
  const bases = inv.sources.map(varsBaseOf);
  put(inv.group('all').vars);
  for (const g of groups) put(g.vars);
  put(reader.varsFor(bases, 'group_vars', 'all'));
  for (const base of bases) {
    if (!base) continue;
    for (const g of groups) for (const f of varsFilesFor(base, 'group_vars', g.name)) put(reader.read(f));
  }
  put(inv.hosts.get(host)!.vars);
  put(reader.varsFor(bases, 'host_vars', host));
  return out;
}
