/**
 * Ansible YAML inventory: parse (with positions) and merge variables the way Ansible does.
 *
 * Structure: top-level keys are groups (normally just `all`); a group has `hosts:` (name -> vars or null),
 * `vars:` and `children:` (name -> group, nested). A group or host may appear in several places: the
 * definitions are merged. Host ranges (`web[01:10]`) are not supported.
 *
 * Variable precedence (Ansible's, lowest first): `all` vars < other groups ordered by depth (distance from
 * `all`; a child is deeper than its parent), then by name (so sibling groups merge alphabetically and the
 * later name wins) < host vars. When a host is defined twice, later host vars win.
 *
 * YAML: the 1.2 core schema plus PyYAML's YAML 1.1 booleans (`yes/no/on/off` in the three spellings), which
 * is how Ansible reads them. (The yaml package's full 1.1 mode is not used: it reads `e1` as NaN.)
 */
import { LineCounter, parseDocument, isMap, isScalar, isPair, type Node, type YAMLMap, type Pair } from 'yaml';
import type { SourcePos } from './types.js';
import { IssueList } from './errors.js';

export interface VarDef {
  value: unknown;
  /** where the key was written */
  pos: SourcePos;
  /** which group (or "host:NAME") defined it */
  from: string;
}

export interface Group {
  name: string;
  depth: number;
  parents: Set<string>;
  children: Set<string>;
  hosts: Set<string>;
  vars: Map<string, VarDef>;
  pos?: SourcePos;
}

export interface InvHost {
  name: string;
  /** groups the host is directly listed in */
  groups: Set<string>;
  vars: Map<string, VarDef>;
  pos: SourcePos;
}

export interface ParsedInventory {
  file: string;
  groups: Map<string, Group>;
  hosts: Map<string, InvHost>;
  /** host names in the order they first appear */
  hostOrder: string[];
}

const GROUP_KEYS = ['hosts', 'vars', 'children'];

/** PyYAML's YAML 1.1 booleans besides true/false (no y/n, as in PyYAML). Quoted "yes" stays a string. */
const yaml11Bool = {
  identify: (v: unknown) => typeof v === 'boolean',
  default: true,
  tag: 'tag:yaml.org,2002:bool',
  test: /^(?:yes|Yes|YES|no|No|NO|on|On|ON|off|Off|OFF)$/,
  resolve: (s: string) => /^(?:yes|Yes|YES|on|On|ON)$/.test(s),
};

/** Parse inventory text. Throws InventoryError with positions on syntax or structure errors. */
export function parseInventory(text: string, file: string): ParsedInventory {
  const lc = new LineCounter();
  const doc = parseDocument(text, { customTags: [yaml11Bool], lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  const issues = new IssueList();
  const posOf = (node: Node | null | undefined | unknown): SourcePos => {
    const range = (node as Node | undefined)?.range;
    const lp = lc.linePos(range ? range[0] : 0);
    return { file, line: lp.line, col: lp.col };
  };
  for (const e of doc.errors) {
    const lp = lc.linePos(e.pos[0]);
    issues.add('', `YAML syntax error: ${e.message.split('\n')[0]}`, { file, line: lp.line, col: lp.col });
  }
  issues.throwIfAny();

  const inv: ParsedInventory = { file, groups: new Map(), hosts: new Map(), hostOrder: [] };
  const group = (name: string, pos?: SourcePos): Group => {
    let g = inv.groups.get(name);
    if (!g) {
      g = { name, depth: name === 'all' ? 0 : 1, parents: new Set(), children: new Set(), hosts: new Set(), vars: new Map(), ...(pos ? { pos } : {}) };
      inv.groups.set(name, g);
    }
    return g;
  };
  group('all');

  const root = doc.contents;
  if (root === null || root === undefined) {
    issues.add('', 'the inventory is empty (expected "all:" with "hosts:", "children:" and "vars:")', { file, line: 1, col: 1 });
    issues.throwIfAny();
  }
  if (!isMap(root)) {
    issues.add('', 'the inventory must be a YAML mapping of groups (e.g. "all:")', posOf(root));
    issues.throwIfAny();
  }

  const readVars = (map: unknown, from: string, where: string): Map<string, VarDef> => {
    const out = new Map<string, VarDef>();
    if (map === null || map === undefined || (isScalar(map) && map.value === null)) return out;
    if (!isMap(map)) {
      issues.add(where, 'must be a mapping of variable names to values', posOf(map));
      return out;
    }
    for (const pair of (map as YAMLMap).items) {
      const key = keyName(pair);
      if (key === undefined) { issues.add(where, 'variable names must be strings', posOf(pair.key)); continue; }
      out.set(key, { value: pair.value === null ? null : (pair.value as Node).toJSON(), pos: posOf(pair.key), from });
    }
    return out;
  };

  /** The entries of a `hosts:` / `children:` mapping with their names; empty when null, issues for the rest. */
  const namedEntries = (node: unknown, where: string, notAMap: string, badName: string): [string, Pair<unknown, unknown>][] => {
    if (node === null || (isScalar(node) && node.value === null)) return [];
    if (!isMap(node)) { issues.add(where, notAMap, posOf(node)); return []; }
    const out: [string, Pair<unknown, unknown>][] = [];
    for (const p of (node as YAMLMap).items) {
      const n = keyName(p);
      if (n === undefined) issues.add(where, badName, posOf(p.key));
      else out.push([n, p]);
    }
    return out;
  };

  const readGroup = (name: string, node: unknown, parent: string | undefined, keyPos: SourcePos): void => {
    const g = group(name, keyPos);
    if (parent && parent !== name) {
      group(parent).children.add(name);
      g.parents.add(parent);
    }
    if (node === null || node === undefined || (isScalar(node) && node.value === null)) return;
    if (!isMap(node)) {
      issues.add(name, `group "${name}" must be a mapping with "hosts:", "children:" or "vars:"`, posOf(node));
      return;
    }
    for (const pair of (node as YAMLMap).items) {
      const key = keyName(pair);
      const kpos = posOf(pair.key);
      if (key === 'vars') {
        for (const [k, v] of readVars(pair.value, name, `${name}.vars`)) g.vars.set(k, v);
      } else if (key === 'hosts') {
        for (const [hname, hp] of namedEntries(pair.value, `${name}.hosts`, 'must be a mapping of host names (a host may have no vars: "node1:")', 'host names must be strings')) {
          if (/\[[^\]]*:[^\]]*\]/.test(hname)) { issues.add(hname, 'host ranges (name[01:10]) are not supported: list the hosts', posOf(hp.key)); continue; }
          let h = inv.hosts.get(hname);
          if (!h) {
            h = { name: hname, groups: new Set(), vars: new Map(), pos: posOf(hp.key) };
            inv.hosts.set(hname, h);
            inv.hostOrder.push(hname);
          }
          h.groups.add(name);
          g.hosts.add(hname);
          for (const [k, v] of readVars(hp.value, `host:${hname}`, hname)) h.vars.set(k, v);
        }
      } else if (key === 'children') {
        for (const [cname, cp] of namedEntries(pair.value, `${name}.children`, 'must be a mapping of group names', 'group names must be strings')) {
          readGroup(cname, cp.value, name, posOf(cp.key));
        }
      } else {
        const hint = key ? suggestGroupKey(key) : undefined;
        issues.add(key ?? '?', `unexpected key in group "${name}": only hosts, children and vars are valid${hint ? ` (did you mean "${hint}"?)` : ''}`, kpos);
      }
    }
  };

  for (const pair of (root as YAMLMap).items) {
    const name = keyName(pair);
    if (name === undefined) { issues.add('', 'group names must be strings', posOf(pair.key)); continue; }
    // Top-level groups other than `all` are implicitly children of `all`.
    readGroup(name, pair.value, name === 'all' ? undefined : 'all', posOf(pair.key));
  }
  issues.throwIfAny();
  detectCycles(inv, issues);
  issues.throwIfAny();
  computeDepths(inv);
  return inv;
}

function keyName(pair: Pair<unknown, unknown>): string | undefined {
  if (!isPair(pair)) return undefined;
  const k = pair.key;
  if (isScalar(k) && (typeof k.value === 'string' || typeof k.value === 'number')) return String(k.value);
  return undefined;
}

function suggestGroupKey(key: string): string | undefined {
  for (const k of GROUP_KEYS) if (k.startsWith(key) || key.startsWith(k.slice(0, -1))) return k;
  return undefined;
}

function detectCycles(inv: ParsedInventory, issues: IssueList): void {
  const state = new Map<string, 1 | 2>();
  const visit = (name: string, path: string[]): void => {
    const s = state.get(name);
    if (s === 2) return;
    if (s === 1) {
      issues.add(name, `group cycle: ${[...path, name].join(' -> ')}`, inv.groups.get(name)?.pos);
      return;
    }
    state.set(name, 1);
    for (const c of inv.groups.get(name)!.children) visit(c, [...path, name]);
    state.set(name, 2);
  };
  for (const name of inv.groups.keys()) visit(name, []);
}

/** Ansible: all has depth 0; a child's depth is max(parent depth + 1) over its parents. */
function computeDepths(inv: ParsedInventory): void {
  const memo = new Map<string, number>();
  const depth = (name: string): number => {
    if (name === 'all') return 0;
    const m = memo.get(name);
    if (m !== undefined) return m;
    const g = inv.groups.get(name)!;
    const d = g.parents.size ? Math.max(...[...g.parents].map((p) => depth(p) + 1)) : 1;
    memo.set(name, d);
    return d;
  };
  for (const g of inv.groups.values()) g.depth = depth(g.name);
}

/** Every group a host belongs to: its direct groups, their ancestors, and `all`. */
export function hostGroups(inv: ParsedInventory, host: string): Group[] {
  const out = new Set<string>(['all']);
  const add = (name: string): void => {
    if (out.has(name) && name !== 'all') return;
    out.add(name);
    for (const p of inv.groups.get(name)?.parents ?? []) add(p);
  };
  for (const g of inv.hosts.get(host)?.groups ?? []) add(g);
  return [...out].map((n) => inv.groups.get(n)!).filter(Boolean);
}

/** Ansible's group order for variable merging: (depth, name); later entries win. */
export function sortGroups(groups: Group[]): Group[] {
  return [...groups].sort((a, b) => a.depth - b.depth || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The merged variables of one host, with where each winning value was written. */
export function mergedVars(inv: ParsedInventory, host: string): Map<string, VarDef> {
  const out = new Map<string, VarDef>();
  for (const g of sortGroups(hostGroups(inv, host))) for (const [k, v] of g.vars) out.set(k, v);
  for (const [k, v] of inv.hosts.get(host)?.vars ?? []) out.set(k, v);
  return out;
}

/** Hosts that belong to a group (directly or through its children). */
export function groupHosts(inv: ParsedInventory, name: string): string[] {
  const g = inv.groups.get(name);
  if (!g) return [];
  if (name === 'all') return [...inv.hostOrder];
  const out = new Set<string>();
  const walk = (gr: Group): void => {
    for (const h of gr.hosts) out.add(h);
    for (const c of gr.children) walk(inv.groups.get(c)!);
  };
  walk(g);
  return inv.hostOrder.filter((h) => out.has(h));
}
