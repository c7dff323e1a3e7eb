/**
 * Ansible's `yaml` inventory plugin (plugins/inventory/yaml.py): top-level keys are groups; a group has
 * `hosts:` (patterns -> vars), `vars:` and `children:` (nested groups); a section may be a string (one name).
 * Host keys are patterns: `web[01:10]`, `db-[a:c]`, `host:2222`.
 *
 * Where Ansible only warns and skips (a key other than hosts/vars/children, a group that is not a mapping),
 * flanprov refuses with the position: a skipped line is almost always a mistake, never a silent difference.
 */
import { isPyFloat, PyFloat, pyNumberStr } from './py-float.js';
import { expandHostPattern, HostPatternError } from './host-pattern.js';
import { Inventory, InventoryModelError } from './model.js';
import { IssueList, suggest } from './errors.js';
import { toValue, type PNode, type PEntry } from './yaml-values.js';

const SECTIONS = ['hosts', 'vars', 'children'];

/** Read one YAML inventory (already parsed) into `inv`. Problems go to `issues`. */
export function readYamlInventory(root: PNode, inv: Inventory, issues: IssueList): void {
  if (root.kind !== 'map') {
    issues.add('', 'a YAML inventory must be a mapping of groups (e.g. "all:" with "hosts:", "children:", "vars:")', root.pos);
    return;
  }
  const plugin = root.entries.find((e) => e.key === 'plugin');
  if (plugin && plugin.value.kind === 'scalar' && plugin.value.value) {
    issues.add('plugin', `inventory plugin "${String(plugin.value.value)}" is not supported: flanprov reads static YAML and INI inventories (run "ansible-inventory -i FILE --list --yaml" and use its output)`, plugin.keyPos);
    return;
  }
  for (const e of root.entries) {
    const name = groupName(e, issues);
    if (name !== undefined) readGroup(name, e, inv, issues, []);
  }
}

function groupName(e: PEntry, issues: IssueList): string | undefined {
  if (typeof e.key === 'string' && e.key !== '') return e.key;
  if (typeof e.key === 'number' || typeof e.key === 'boolean' || e.key instanceof PyFloat) {
    const shown = typeof e.key === 'boolean' ? String(e.key) : pyNumberStr(e.key);
    const kind = typeof e.key === 'boolean' ? 'boolean' : isPyFloat(e.key) ? 'float' : 'number';
    issues.add(shown, `group name ${shown} is read as a ${kind} by YAML: quote it`, e.keyPos);
    return undefined;
  }
  issues.add('', 'group names must be non-empty strings', e.keyPos);
  return undefined;
}

/** A section value as a list of entries: a mapping, a string (one name), or null. */
function sectionEntries(sec: string, group: string, node: PNode, issues: IssueList): PEntry[] {
  if (node.kind === 'scalar' && node.value === null) return [];
  if (node.kind === 'scalar' && typeof node.value === 'string') {
    return [{ key: node.value, keyPos: node.pos, value: { kind: 'scalar', value: null, pos: node.pos } }];
  }
  if (node.kind !== 'map') {
    issues.add(`${group}.${sec}`, `must be a mapping (${sec === 'hosts' ? 'host name: vars, e.g. "node1:" or "node1: {ansible_host: 10.0.0.1}"' : sec === 'children' ? 'group name: group' : 'variable: value'}); found a ${node.kind === 'seq' ? 'list' : typeof (node as { value: unknown }).value}`, node.pos);
    return [];
  }
  return node.entries;
}

function readGroup(name: string, entry: PEntry, inv: Inventory, issues: IssueList, path: string[]): void {
  const node = entry.value;
  if (node.kind !== 'map' && !(node.kind === 'scalar' && node.value === null)) {
    issues.add(name, `group "${name}" must be a mapping with "hosts:", "children:" or "vars:" (Ansible would skip it)`, node.pos);
    return;
  }
  inv.addGroup(name, entry.keyPos);
  if (node.kind !== 'map') return;
  for (const e of node.entries) {
    const key = e.key;
    if (typeof key !== 'string' || !SECTIONS.includes(key)) {
      const k = String(key);
      const hint = suggest(k, SECTIONS);
      issues.add(k, `unexpected key in group "${name}": only hosts, children and vars are valid${hint ? ` (did you mean "${hint}"?)` : ''} (Ansible would skip it)`, e.keyPos);
      continue;
    }
    const v = e.value;
    if (v.kind === 'seq' || (v.kind === 'scalar' && v.value !== null && typeof v.value !== 'string')) {
      issues.add(`${name}.${key}`, `must be a mapping, found a ${v.kind === 'seq' ? 'list' : typeof v.value}${key === 'hosts' && v.kind === 'seq' ? ' (write "hosts:" with one "name:" per line, not "- name")' : ''}`, v.pos);
      continue;
    }
    if (v.kind === 'scalar' && v.value === null) continue;
    if (key === 'vars') {
      for (const ve of sectionEntries('vars', name, v, issues)) {
        if (typeof ve.key !== 'string') { issues.add(String(ve.key), 'variable names must be strings', ve.keyPos); continue; }
        try {
          inv.setGroupVar(name, ve.key, { value: toValue(ve.value), pos: ve.keyPos, from: `group ${name}` });
        } catch (err) {
          if (err instanceof InventoryModelError) issues.add(err.key, err.message, err.pos);
          else throw err;
        }
      }
    } else if (key === 'children') {
      for (const ce of sectionEntries('children', name, v, issues)) {
        const cname = groupName(ce, issues);
        if (cname === undefined) continue;
        if (path.includes(cname) || cname === name) {
          issues.add(cname, `group loop: ${[...path, name, cname].join(' -> ')}`, ce.keyPos);
          continue;
        }
        readGroup(cname, ce, inv, issues, [...path, name]);
        try {
          inv.addChild(name, cname, ce.keyPos);
        } catch (err) {
          if (err instanceof InventoryModelError) issues.add(err.key, err.message, err.pos);
          else throw err;
        }
      }
    } else {
      for (const he of sectionEntries('hosts', name, v, issues)) {
        if (typeof he.key !== 'string') {
          const shown = typeof he.key === 'number' || he.key instanceof PyFloat ? pyNumberStr(he.key) : JSON.stringify(he.key);
          issues.add(shown, `host name ${shown} is not a string for YAML: quote it`, he.keyPos);
          continue;
        }
        let names: string[];
        let port: number | undefined;
        try {
          ({ names, port } = expandHostPattern(he.key));
        } catch (err) {
          if (err instanceof HostPatternError) { issues.add(he.key, err.message, he.keyPos); continue; }
          throw err;
        }
        const hv = he.value;
        if (!(hv.kind === 'map' || (hv.kind === 'scalar' && hv.value === null))) {
          issues.add(he.key, `the vars of host "${he.key}" must be a mapping (or nothing); found a ${hv.kind === 'seq' ? 'list' : typeof (hv as { value: unknown }).value}`, hv.pos);
          continue;
        }
        for (const hn of names) {
          inv.addHost(hn, he.keyPos, name, port);
          if (hv.kind !== 'map') continue;
          for (const ve of hv.entries) {
            if (typeof ve.key !== 'string') { issues.add(String(ve.key), 'variable names must be strings', ve.keyPos); continue; }
            inv.setHostVar(hn, ve.key, { value: toValue(ve.value), pos: ve.keyPos, from: `host ${hn}` });
          }
        }
      }
    }
  }
}
