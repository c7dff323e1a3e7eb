/**
 * Set one variable everywhere an inventory writes it (switch-backend --update-inventory sets flannel_backend),
 * editing the user's files in place: only the value's text changes, comments, spacing, quoting and line endings
 * stay as they were. Every place Ansible would read the variable from is found:
 *   - YAML inventory files: `vars:` of every group (nested through `children:`) and every host's mapping;
 *   - INI inventory files: `key = value` lines of `[group:vars]` and `key=value` words of host lines;
 *   - group_vars/ and host_vars/ beside each source (files and directories, YAML/JSON): top-level keys.
 * Where it is written nowhere and the new value is not the default, it is added to the first source's `all`
 * vars (YAML `all: vars:`, INI `[all:vars]`). A value that is not a plain string (a template, a list, a YAML
 * alias or block scalar) is refused with file:line:col — never guessed — and so is an inventory with no file to
 * add to. The planning is pure (nothing is written); the caller writes the edits and re-reads the inventory.
 */
import { readFileSync } from 'node:fs';
import { isAlias, isMap, isScalar, isPair, LineCounter, parseDocument, Scalar, type Document, type Pair, type YAMLMap } from 'yaml';
import { InvalidInputError } from '../util/errors.js';
import { readSources, sourceFiles, sourceFormat } from './sources.js';
import { varsBaseOf, varsFilesFor } from './vars-files.js';
import { pyShlexSplit } from './py-shlex.js';
import { SECTION } from './ini-source.js';
import { iniValue } from './py-literal.js';
import { formatPos, type SourcePos } from './types.js';

export interface FileEdit {
  file: string;
  before: string;
  after: string;
  /** what changed, for messages: "line 6", "added to [all:vars]" */
  changes: string[];
}

/** A value that cannot be set in place (exit 2, naming where it is written). */
export class VariableEditError extends InvalidInputError {}

interface Spot { start: number; end: number; text: string; line: number }

const refuse = (why: string, pos: SourcePos, name: string, value: string): never => {
  throw new VariableEditError(`${formatPos(pos)}: ${name}: ${why}: set it to ${value} by hand`, formatPos(pos));
};

function checkString(v: unknown, pos: SourcePos, name: string, value: string): void {
  if (typeof v !== 'string') refuse(`is not a plain string (${v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v})`, pos, name, value);
  if ((v as string).includes('{{') || (v as string).includes('{%')) refuse(`is a template (${JSON.stringify(v)}): the variable it names decides`, pos, name, value);
}

function lineOf(text: string, offset: number): number {
  let n = 1;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) n++;
  return n;
}

function apply(text: string, spots: Spot[]): string {
  let out = text;
  for (const s of [...spots].sort((a, b) => b.start - a.start)) out = out.slice(0, s.start) + s.text + out.slice(s.end);
  return out;
}

function parseYaml(text: string, file: string): { doc: Document; lc: LineCounter } {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: false });
  if (doc.errors.length) throw new VariableEditError(`cannot edit ${file}: ${doc.errors[0]!.message.split('\n')[0]}`, file);
  return { doc, lc };
}

const keyOf = (p: Pair): unknown => (isScalar(p.key) ? p.key.value : undefined);

/** The YAML value spot for `pair`, checked to be a plain string. */
function yamlSpot(pair: Pair, text: string, lc: LineCounter, file: string, name: string, value: string): Spot | undefined {
  const v = pair.value;
  const at = (n: { range?: [number, number, number] | null } | null | undefined): SourcePos => {
    const p = lc.linePos(n?.range?.[0] ?? (pair.key as Scalar).range?.[0] ?? 0);
    return { file, line: p.line, col: p.col };
  };
  if (isAlias(v)) refuse('is a YAML alias (*name)', at(v), name, value);
  if (!isScalar(v) || !v.range) refuse('is not a plain value', at(pair.key as Scalar), name, value);
  const s = v as Scalar;
  if (s.type === 'BLOCK_LITERAL' || s.type === 'BLOCK_FOLDED') refuse('is a block scalar (| or >)', at(s), name, value);
  if (s.tag && s.tag !== 'tag:yaml.org,2002:str') refuse(`has the tag ${s.tag}`, at(s), name, value);
  checkString(s.value, at(s), name, value);
  if (s.value === value) return undefined;
  const q = s.type === 'QUOTE_DOUBLE' ? '"' : s.type === 'QUOTE_SINGLE' ? "'" : '';
  return { start: s.range![0], end: s.range![1], text: `${q}${value}${q}`, line: lineOf(text, s.range![0]) };
}

/** The pairs named `name` where a YAML inventory defines variables: group vars and host mappings, through children. */
function yamlInventoryPairs(doc: Document, name: string): Pair[] {
  const out: Pair[] = [];
  const seen = new Set<YAMLMap>();
  const group = (g: unknown): void => {
    if (!isMap(g) || seen.has(g)) return;
    seen.add(g);
    for (const item of g.items) {
      const k = keyOf(item);
      if (k === 'vars' && isMap(item.value)) for (const p of item.value.items) { if (keyOf(p) === name) out.push(p); }
      if (k === 'hosts' && isMap(item.value)) {
        for (const h of item.value.items) if (isMap(h.value)) for (const p of h.value.items) { if (keyOf(p) === name) out.push(p); }
      }
      if (k === 'children' && isMap(item.value)) for (const c of item.value.items) group(c.value);
    }
  };
  if (isMap(doc.contents)) for (const top of doc.contents.items) group(top.value);
  return out;
}

function editYaml(file: string, text: string, pairs: (doc: Document) => Pair[], name: string, value: string): { spots: Spot[]; found: boolean } {
  const { doc, lc } = parseYaml(text, file);
  const found = pairs(doc);
  const spots = found.map((p) => yamlSpot(p, text, lc, file, name, value)).filter((s): s is Spot => !!s);
  return { spots, found: found.length > 0 };
}

/** INI: `[g:vars]` lines and host-line words that set `name`. */
function editIni(file: string, text: string, name: string, value: string): { spots: Spot[]; found: boolean } {
  const spots: Spot[] = [];
  let found = false;
  let state: 'hosts' | 'vars' | 'children' = 'hosts';
  let offset = 0;
  const lines = text.split(/(?<=\n)/);
  lines.forEach((full, n) => {
    const lineStart = offset;
    offset += full.length;
    const raw = full.replace(/\r?\n$/, '');
    const line = raw.trim();
    const indent = raw.length - raw.trimStart().length;
    if (!line || line[0] === ';' || line[0] === '#') return;
    const sec = SECTION.exec(line);
    if (sec) { state = (sec[2] ?? 'hosts') as typeof state; return; }
    const pos = (col: number): SourcePos => ({ file, line: n + 1, col });
    if (state === 'vars') {
      const eq = line.indexOf('=');
      if (eq < 0 || line.slice(0, eq).trim() !== name) return;
      found = true;
      const after = line.slice(eq + 1);
      const old = after.trim();
      checkString(iniValue(old), pos(indent + 1), name, value);
      const q = /^(['"])/.exec(old)?.[1] ?? '';
      const start = lineStart + indent + eq + 1 + (after.length - after.trimStart().length);
      if (iniValue(old) !== value) spots.push({ start, end: start + old.length, text: `${q}${value}${q}`, line: n + 1 });
      return;
    }
    if (state !== 'hosts') return;
    for (const t of pyShlexSplit(line).slice(1)) {
      const eq = t.value.indexOf('=');
      if (eq < 0 || t.value.slice(0, eq) !== name) continue;
      found = true;
      const old = t.value.slice(eq + 1);
      checkString(iniValue(old), pos(indent + t.start + 1), name, value);
      if (iniValue(old) === value) continue;
      const rawTok = line.slice(t.start, t.end);
      const whole = /^(['"])/.exec(rawTok)?.[1];
      const inner = /=(['"])/.exec(rawTok)?.[1] ?? '';
      const text2 = whole ? `${whole}${name}=${value}${whole}` : `${name}=${inner}${value}${inner}`;
      spots.push({ start: lineStart + indent + t.start, end: lineStart + indent + t.end, text: text2, line: n + 1 });
    }
  });
  return { spots, found };
}

/** Add `name = value` to the `all` vars of an INI file: at the end of [all:vars], or a new [all:vars] section. */
function addIni(text: string, name: string, value: string): { after: string; change: string } {
  const nl = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(/\r?\n/);
  const header = lines.findIndex((l) => /^\s*\[all:vars\]\s*(?:[#;].*)?$/.test(l));
  if (header < 0) {
    const body = text === '' || text.endsWith('\n') ? text : text + nl;
    return { after: `${body}${body.trim() ? nl : ''}[all:vars]${nl}${name}=${value}${nl}`, change: 'added to a new [all:vars] section' };
  }
  let last = header;
  for (let i = header + 1; i < lines.length && !/^\s*\[/.test(lines[i]!); i++) if (lines[i]!.trim() && !/^\s*[#;]/.test(lines[i]!)) last = i;
  lines.splice(last + 1, 0, `${name}=${value}`);
  return { after: lines.join(nl), change: `added to [all:vars] (line ${last + 2})` };
}

/** Add `name: value` to `all: vars:` of a YAML inventory, as a new line in the style around it when it can. */
function addYaml(file: string, text: string, name: string, value: string): { after: string; change: string } {
  const { doc, lc } = parseYaml(text, file);
  const root = doc.contents;
  const lineStart = (off: number): number => off - (lc.linePos(off).col - 1);
  const blockKeyStart = (m: YAMLMap): number | undefined => {
    const k = m.items[0]?.key as Scalar | undefined;
    const off = k?.range?.[0];
    if (off === undefined || m.flow) return undefined;
    return text.slice(lineStart(off), off).trim() === '' ? off : undefined;
  };
  const insertAt = (m: YAMLMap, lines: string[]): string | undefined => {
    const off = blockKeyStart(m);
    if (off === undefined) return undefined;
    const indent = ' '.repeat(off - lineStart(off));
    return text.slice(0, lineStart(off)) + lines.map((l) => `${indent}${l}\n`).join('') + text.slice(lineStart(off));
  };
  if (isMap(root)) {
    const all = root.items.find((p) => keyOf(p) === 'all');
    if (!all) {
      const body = text.endsWith('\n') ? text : `${text}\n`;
      if (!root.flow) return { after: `${body}all:\n  vars:\n    ${name}: ${value}\n`, change: 'added to all: vars:' };
    } else if (isMap(all.value)) {
      const vars = all.value.items.find((p) => keyOf(p) === 'vars');
      const done = vars && isMap(vars.value) ? insertAt(vars.value, [`${name}: ${value}`])
        : !vars ? insertAt(all.value, ['vars:', `  ${name}: ${value}`]) : undefined;
      if (done !== undefined) return { after: done, change: 'added to all: vars:' };
    }
  }
  // anything else (flow style, an empty `all:`): let the yaml library write it (comments are kept)
  if (!isMap(root)) throw new VariableEditError(`${file} is not a YAML mapping: add ${name}: ${value} to all: vars: by hand`, file);
  let all = root.get('all');
  if (!isMap(all)) { all = doc.createNode({}); root.set('all', all); }
  let vars = (all as YAMLMap).get('vars');
  if (!isMap(vars)) { vars = doc.createNode({}); (all as YAMLMap).set('vars', vars); }
  (vars as YAMLMap).set(name, value);
  return { after: doc.toString(), change: 'added to all: vars:' };
}

/**
 * The edits that set `name` to `value` in every place the inventory `sources` write it (see the top of this
 * file). `defaultValue` is what an inventory that writes it nowhere means: then nothing needs adding.
 */
export function planVariableEdit(sources: string[], name: string, value: string, defaultValue?: string): FileEdit[] {
  const inv = readSources(sources);
  const edits: FileEdit[] = [];
  let found = false;
  const consider = (file: string, edit: (text: string) => { spots: Spot[]; found: boolean }): void => {
    if (edits.some((e) => e.file === file)) return;
    const before = readFileSync(file, 'utf8');
    const r = edit(before);
    found ||= r.found;
    if (r.spots.length) edits.push({ file, before, after: apply(before, r.spots), changes: r.spots.sort((a, b) => a.line - b.line).map((s) => `line ${s.line}`) });
  };
  const invFiles = inv.sources.filter((s) => varsBaseOf(s) !== undefined).flatMap((s) => sourceFiles(s));
  for (const f of invFiles) {
    consider(f, (text) => (sourceFormat(f, text) === 'yaml' ? editYaml(f, text, (d) => yamlInventoryPairs(d, name), name, value) : editIni(f, text, name, value)));
  }
  const topLevel = (d: Document): Pair[] => (isMap(d.contents) ? d.contents.items.filter((p) => isPair(p) && keyOf(p) === name) : []);
  for (const base of inv.sources.map(varsBaseOf)) {
    if (!base) continue;
    const files = [...[...inv.groups.keys()].flatMap((g) => varsFilesFor(base, 'group_vars', g)), ...[...inv.hosts.keys()].flatMap((h) => varsFilesFor(base, 'host_vars', h))];
    for (const f of files) consider(f, (text) => editYaml(f, text, topLevel, name, value));
  }
  if (found || value === defaultValue) return edits;
  // written nowhere: add it to the first source's `all` vars
  const first = inv.sources[0]!;
  const firstFile = varsBaseOf(first) !== undefined && sourceFiles(first).length === 1 && sourceFiles(first)[0] === first ? first : undefined;
  if (!firstFile) {
    throw new VariableEditError(`${name} is written nowhere in the inventory and ${first} is not a file to add it to: add ${name}: ${value} to group_vars/all.yml (or an inventory file's all vars) by hand`, first);
  }
  const before = readFileSync(firstFile, 'utf8');
  const added = sourceFormat(firstFile, before) === 'yaml' ? addYaml(firstFile, before, name, value) : addIni(before, name, value);
  return [{ file: firstFile, before, after: added.after, changes: [added.change] }];
}
