/**
 * The inventory as Ansible holds it (ansible/inventory/data.py, group.py, host.py), filled by the source
 * readers (yaml-source.ts, ini-source.ts, host-list) in source order:
 * - a group has parents, children, hosts, vars and a priority (`ansible_group_priority`, default 1, which is
 *   not a variable); its depth is the longest path from `all`;
 * - a host is created once: the port of its first definition becomes `ansible_port`; later definitions add
 *   groups and set variables (a later value replaces an earlier one, dicts too: hash_behaviour=replace);
 * - after all sources: groups without a parent become children of `all`, hosts in no group go to `ungrouped`.
 */
import type { SourcePos } from './types.js';
import type { Value } from './yaml-values.js';
import { PyFloat } from './py-float.js';

export interface VarDef {
  value: Value;
  /** where the key was written */
  pos: SourcePos;
  /** which group ("group NAME"), host ("host NAME") or file defined it, for messages */
  from: string;
}

export interface Group {
  name: string;
  depth: number;
  priority: number;
  parents: string[];
  children: string[];
  /** hosts listed directly in the group, in order */
  hosts: string[];
  vars: Map<string, VarDef>;
  pos?: SourcePos;
}

export interface InvHost {
  name: string;
  /** groups the host is listed in directly */
  direct: Set<string>;
  vars: Map<string, VarDef>;
  pos: SourcePos;
}

export class InventoryModelError extends Error {
  constructor(message: string, readonly pos?: SourcePos, readonly key = '') { super(message); }
}

export class Inventory {
  readonly groups = new Map<string, Group>();
  readonly hosts = new Map<string, InvHost>();
  /** inventory sources as given (-i, in order): their directories hold group_vars/ and host_vars/ */
  readonly sources: string[] = [];

  constructor() {
    this.addGroup('all');
    this.addGroup('ungrouped');
    this.addChild('all', 'ungrouped');
  }

  addGroup(name: string, pos?: SourcePos): Group {
    let g = this.groups.get(name);
    if (!g) {
      g = { name, depth: 0, priority: 1, parents: [], children: [], hosts: [], vars: new Map(), ...(pos ? { pos } : {}) };
      this.groups.set(name, g);
    }
    return g;
  }

  group(name: string): Group {
    const g = this.groups.get(name);
    if (!g) throw new Error(`internal: no group ${name}`);
    return g;
  }

  /** add_host: created on first sight (with ansible_port from `port`), then only joined to `group`. */
  addHost(name: string, pos: SourcePos, group?: string, port?: number): InvHost {
    let h = this.hosts.get(name);
    if (!h) {
      h = { name, direct: new Set(), vars: new Map(), pos };
      this.hosts.set(name, h);
      if (port) h.vars.set('ansible_port', { value: port, pos, from: `host ${name}` });
    }
    if (group) {
      const g = this.group(group);
      if (!g.hosts.includes(name)) { g.hosts.push(name); h.direct.add(group); }
    }
    return h;
  }

  /** set_variable on a group: `ansible_group_priority` sets the priority and is not a variable. */
  setGroupVar(group: string, key: string, def: VarDef): void {
    const g = this.group(group);
    if (key === 'ansible_group_priority') {
      const v = def.value;
      const n = typeof v === 'number' ? Math.trunc(v) : v instanceof PyFloat ? Math.trunc(v.value) : typeof v === 'boolean' ? Number(v) : typeof v === 'string' && /^\s*[-+]?\d+\s*$/.test(v) ? Number(v) : NaN;
      if (!Number.isFinite(n)) throw new InventoryModelError(`must be an integer; got ${JSON.stringify(v)}`, def.pos, key);
      g.priority = n;
      return;
    }
    g.vars.set(key, def);
  }

  setHostVar(host: string, key: string, def: VarDef): void {
    this.hosts.get(host)!.vars.set(key, def);
  }

  /** add_child(parent, child group); refuses loops as Ansible does. */
  addChild(parent: string, child: string, pos?: SourcePos): void {
    if (parent === child) throw new InventoryModelError(`group "${parent}" cannot be a child of itself`, pos, child);
    const p = this.group(parent);
    const c = this.group(child);
    if (p.children.includes(child)) return;
    if (this.ancestors(parent).has(child)) {
      throw new InventoryModelError(`adding group "${child}" as a child of "${parent}" creates a loop (${child} is already an ancestor of ${parent})`, pos, child);
    }
    p.children.push(child);
    if (!c.parents.includes(parent)) c.parents.push(parent);
  }

  ancestors(name: string): Set<string> {
    const out = new Set<string>();
    const walk = (n: string): void => {
      for (const p of this.groups.get(n)?.parents ?? []) if (!out.has(p)) { out.add(p); walk(p); }
    };
    walk(name);
    return out;
  }

  /** reconcile_inventory: orphan groups under `all`, hosts in no group under `ungrouped`, depths. */
  reconcile(): void {
    for (const g of this.groups.values()) {
      if (g.name !== 'all' && this.ancestors(g.name).size === 0) this.addChild('all', g.name);
    }
    const ungrouped = this.group('ungrouped');
    for (const h of this.hosts.values()) {
      const others = [...h.direct].filter((g) => g !== 'all' && g !== 'ungrouped');
      if (h.direct.has('ungrouped') && others.length) {
        h.direct.delete('ungrouped');
        ungrouped.hosts = ungrouped.hosts.filter((n) => n !== h.name);
      } else if (!others.length && !h.direct.has('ungrouped')) {
        this.addHost(h.name, h.pos, 'ungrouped');
      }
    }
    const memo = new Map<string, number>();
    const depth = (n: string): number => {
      if (n === 'all') return 0;
      const m = memo.get(n);
      if (m !== undefined) return m;
      const g = this.group(n);
      const d = g.parents.length ? Math.max(...g.parents.map((p) => depth(p) + 1)) : 0;
      memo.set(n, d);
      return d;
    };
    for (const g of this.groups.values()) g.depth = depth(g.name);
  }

  /** Every group a host belongs to: direct groups, their ancestors, and `all`. */
  hostGroups(host: string): Group[] {
    const names = new Set<string>(['all']);
    for (const d of this.hosts.get(host)?.direct ?? []) {
      names.add(d);
      for (const a of this.ancestors(d)) names.add(a);
    }
    return [...names].map((n) => this.group(n));
  }

  /** Hosts of a group and its descendants, in inventory order. */
  groupHosts(name: string): string[] {
    if (!this.groups.has(name)) return [];
    if (name === 'all') return [...this.hosts.keys()];
    const out = new Set<string>();
    const seen = new Set<string>();
    const walk = (n: string): void => {
      if (seen.has(n)) return;
      seen.add(n);
      const g = this.group(n);
      for (const h of g.hosts) out.add(h);
      for (const c of g.children) walk(c);
    };
    walk(name);
    return [...this.hosts.keys()].filter((h) => out.has(h));
  }
}

/** Ansible's sort_groups: (depth, priority, name); later groups win when merging. */
export function sortGroups(groups: Group[]): Group[] {
  return [...groups].sort((a, b) => a.depth - b.depth || a.priority - b.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
