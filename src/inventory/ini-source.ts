/**
 * Ansible's `ini` inventory plugin (plugins/inventory/ini.py), line for line:
 * - lines before any section are hosts of `ungrouped`; `[g]` hosts, `[g:vars]` `key = value` lines,
 *   `[g:children]` group names; `;` and `#` start comment lines;
 * - a host line is cut like Python's shlex (quotes, `#` comments even mid-word): `name[:port] k=v ...`;
 * - every value goes through Python's literal_eval (py-literal.ts), on host lines AND in :vars sections:
 *   `1` is an int, `True` a bool, `'x'` the string x, `[1, 2]` a list; `yes`, `true`, `10.0.0.1` stay strings.
 *   On a host line the quotes are shell quotes (`k='1'` is the int 1); in :vars they are Python quotes
 *   (`k='1'` is the string "1") and the rest of the line is the value (`k = a b # c` is "a b # c");
 * - a group named in `[x:children]` or `[x:vars]` must be declared somewhere (before or after).
 */
import { expandHostPattern, HostPatternError, parseAddress } from './host-pattern.js';
import { Inventory, InventoryModelError } from './model.js';
import { IssueList } from './errors.js';
import { pyLiteralEval, UnsupportedLiteral } from './py-literal.js';
import { pyShlexSplit, ShlexError } from './py-shlex.js';
import { Unsupported, type Value } from './yaml-values.js';
import type { SourcePos } from './types.js';

/** a section header line: [group], [group:vars], [group:children] */
export const SECTION = /^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$/;
const GROUP_NAME = /^([^:\]\s]+)\s*(?:#.*)?$/;

interface Pending { line: number; col: number; state: 'vars' | 'children'; parents: string[] }

function iniParseValue(text: string, pos: SourcePos): Value {
  try {
    const r = pyLiteralEval(text);
    return r.literal ? (r.value as Value) : text;
  } catch (e) {
    if (e instanceof UnsupportedLiteral) return new Unsupported(`the INI value ${text} (${e.message})`, pos);
    throw e;
  }
}

export function readIniInventory(text: string, file: string, inv: Inventory, issues: IssueList): void {
  const lines = text.split(/\r\n|\r|\n/);
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  const pending = new Map<string, Pending>();
  let group = 'ungrouped';
  let state: 'hosts' | 'vars' | 'children' = 'hosts';
  const at = (line: number, col: number): SourcePos => ({ file, line, col });
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n]!;
    const lineNo = n + 1;
    const line = raw.trim();
    const indent = raw.length - raw.trimStart().length;
    const col = indent + 1;
    if (!line || line[0] === ';' || line[0] === '#') continue;
    const m = SECTION.exec(line);
    if (m) {
      const name = m[1]!;
      const tag = m[2] ?? 'hosts';
      if (tag !== 'hosts' && tag !== 'children' && tag !== 'vars') {
        issues.add(`[${name}:${tag}]`, `section type "${tag}" is unknown: write [${name}], [${name}:vars] or [${name}:children]`, at(lineNo, col));
        group = name; state = 'hosts';
        continue;
      }
      group = name; state = tag;
      if (!inv.groups.has(name)) {
        if (state === 'vars' && !pending.has(name)) pending.set(name, { line: lineNo, col, state: 'vars', parents: [] });
        inv.addGroup(name, at(lineNo, col + 1));
      }
      const p = pending.get(name);
      if (p && state !== 'vars') {
        if (p.state === 'children') addPendingChildren(name, pending, inv, issues, file);
        else pending.delete(name);
      }
      continue;
    }
    if (line.startsWith('[') && line.endsWith(']')) {
      issues.add(line, 'invalid section header: write [group], [group:vars] or [group:children] with no spaces inside the brackets', at(lineNo, col));
      continue;
    }
    if (state === 'hosts') {
      readHostLine(line, lineNo, col, group, file, inv, issues);
    } else if (state === 'vars') {
      const eq = line.indexOf('=');
      if (eq < 0) { issues.add(line, `expected "key = value" in [${group}:vars]`, at(lineNo, col)); continue; }
      const key = line.slice(0, eq).trim();
      const value = line.slice(eq + 1).trim();
      const vpos = at(lineNo, col);
      try {
        inv.setGroupVar(group, key, { value: iniParseValue(value, vpos), pos: vpos, from: `group ${group}` });
      } catch (e) {
        if (e instanceof InventoryModelError) issues.add(e.key, e.message, e.pos);
        else throw e;
      }
    } else {
      const gm = GROUP_NAME.exec(line);
      if (!gm) { issues.add(line, `expected a group name in [${group}:children]`, at(lineNo, col)); continue; }
      const child = gm[1]!;
      if (!inv.groups.has(child)) {
        const p = pending.get(child);
        if (!p) pending.set(child, { line: lineNo, col, state: 'children', parents: [group] });
        else p.parents.push(group);
      } else {
        try { inv.addChild(group, child, at(lineNo, col)); } catch (e) {
          if (e instanceof InventoryModelError) issues.add(e.key, e.message, e.pos);
          else throw e;
        }
      }
    }
  }
  for (const [name, p] of pending) {
    if (p.state === 'vars') {
      issues.add(`[${name}:vars]`, `group "${name}" is not defined: declare it with [${name}] (hosts) or [${name}:children], or list it under another group's :children`, at(p.line, p.col));
    } else {
      issues.add(name, `[${p.parents[p.parents.length - 1]}:children] names group "${name}", which is not defined: add a [${name}] section`, at(p.line, p.col));
    }
  }
}

function addPendingChildren(group: string, pending: Map<string, Pending>, inv: Inventory, issues: IssueList, file: string): void {
  const p = pending.get(group)!;
  for (const parent of p.parents) {
    try { inv.addChild(parent, group, { file, line: p.line, col: p.col }); } catch (e) {
      if (e instanceof InventoryModelError) issues.add(e.key, e.message, e.pos);
      else throw e;
    }
    const pp = pending.get(parent);
    if (pp && pp.state === 'children') addPendingChildren(parent, pending, inv, issues, file);
  }
  pending.delete(group);
}

function readHostLine(line: string, lineNo: number, col: number, group: string, file: string, inv: Inventory, issues: IssueList): void {
  let toks;
  try {
    toks = pyShlexSplit(line);
  } catch (e) {
    if (e instanceof ShlexError) { issues.add('', `cannot read this host line: ${e.message}`, { file, line: lineNo, col }); return; }
    throw e;
  }
  if (!toks.length) return;
  const pattern = toks[0]!.value;
  const hpos: SourcePos = { file, line: lineNo, col: col + toks[0]!.start };
  if (pattern.trim().endsWith(':') && parseAddress(pattern)?.port === undefined) {
    issues.add(pattern, 'a host name may not end in ":" (that is where a port goes: host:2222)', hpos);
    return;
  }
  let names: string[];
  let port: number | undefined;
  try {
    ({ names, port } = expandHostPattern(pattern));
  } catch (e) {
    if (e instanceof HostPatternError) { issues.add(pattern, e.message, hpos); return; }
    throw e;
  }
  if (names.some((h) => h.trim() === '---')) {
    issues.add(pattern, 'this looks like a YAML file: give it a .yml extension', hpos);
    return;
  }
  const vars: [string, { value: Value; pos: SourcePos }][] = [];
  for (const t of toks.slice(1)) {
    const tpos: SourcePos = { file, line: lineNo, col: col + t.start };
    const eq = t.value.indexOf('=');
    if (eq < 0) { issues.add(t.value, `expected key=value after the host name, got "${t.value}"`, tpos); return; }
    const key = t.value.slice(0, eq);
    vars.push([key, { value: iniParseValue(t.value.slice(eq + 1), tpos), pos: tpos }]);
  }
  for (const h of names) {
    inv.addHost(h, hpos, group, port);
    for (const [k, v] of vars) inv.setHostVar(h, k, { ...v, from: `host ${h}` });
  }
}
