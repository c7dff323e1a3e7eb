/**
 * YAML (and JSON) files read the way Ansible reads them: `json.loads` first, then PyYAML's SafeLoader with
 * its YAML 1.1 implicit types. The `yaml` package parses (with positions, failsafe schema: every scalar a
 * string) and this module types plain scalars with PyYAML's own resolver rules:
 *   bool  yes/no/true/false/on/off (3 spellings each; not y/n)    int  0b1, 017 (octal), 0x1f, 1_000, 1:30 (base 60)
 *   float needs a dot (1.5, 1.0e+3; `1e3` is a string), .inf/.nan  null ~, null, empty
 * Anchors, aliases and `<<` merge keys work as in PyYAML. Values without a faithful JSON form (timestamps,
 * .inf/.nan, !vault, !!binary, !!set, ...) become `Unsupported` markers: refused by name only where they are used.
 */
import { LineCounter, parseDocument, isAlias, isMap, isScalar, isSeq, Scalar, type Node, type Document, type Alias } from 'yaml';
import type { SourcePos } from './types.js';
import { PyFloat, pyFloat } from './py-float.js';

/** A value Ansible would read but flanprov cannot reproduce faithfully; an error only where it is used. */
export class Unsupported {
  constructor(readonly feature: string, readonly pos: SourcePos) {}
  toJSON(): string { return `<unsupported: ${this.feature}>`; }
}

/** A float with an integral value is a PyFloat (py-float.ts): Ansible keeps 1.0 a float. */
export type Value = null | boolean | number | PyFloat | string | Unsupported | Value[] | { [k: string]: Value };

/** A YAML tree with positions: what the inventory walker needs (keys and where they were written). */
export type PNode =
  | { kind: 'map'; entries: PEntry[]; pos: SourcePos }
  | { kind: 'seq'; items: PNode[]; pos: SourcePos }
  | { kind: 'scalar'; value: Value; pos: SourcePos };

export interface PEntry { key: Value; keyPos: SourcePos; value: PNode }

export class YamlSyntaxError extends Error {
  constructor(message: string, readonly pos: SourcePos) { super(message); }
}

const BOOL = /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$/;
const FLOAT = /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$/;
const INT = /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$/;
const NULL = /^(?:~|null|Null|NULL|)$/;
const TIMESTAMP = /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$/;

function safeInt(n: bigint, text: string, pos: SourcePos): Value {
  if (n > BigInt(Number.MAX_SAFE_INTEGER) || n < -BigInt(Number.MAX_SAFE_INTEGER)) return new Unsupported(`the integer ${text} (larger than 2^53)`, pos);
  return Number(n);
}

/** PyYAML's construct_yaml_int. */
function yamlInt(text: string, pos: SourcePos): Value {
  let v = text.replace(/_/g, '');
  const sign = v[0] === '-' ? -1n : 1n;
  if (v[0] === '-' || v[0] === '+') v = v.slice(1);
  const parse = (digits: string, base: number): bigint => [...digits].reduce((a, c) => a * BigInt(base) + BigInt(parseInt(c, base)), 0n);
  if (v === '0' || v === '') return 0;
  if (v.startsWith('0b')) return safeInt(sign * parse(v.slice(2), 2), text, pos);
  if (v.startsWith('0x')) return safeInt(sign * parse(v.slice(2), 16), text, pos);
  if (v[0] === '0') return safeInt(sign * parse(v, 8), text, pos);
  if (v.includes(':')) {
    let n = 0n;
    for (const part of v.split(':')) n = n * 60n + BigInt(part);
    return safeInt(sign * n, text, pos);
  }
  return safeInt(sign * BigInt(v), text, pos);
}

/** PyYAML's construct_yaml_float (a float, even when its value is integral: 1.0, 1.0e+3). */
function yamlFloat(text: string, pos: SourcePos): Value {
  let v = text.replace(/_/g, '').toLowerCase();
  let sign = 1;
  if (v[0] === '-') sign = -1;
  if (v[0] === '-' || v[0] === '+') v = v.slice(1);
  if (v === '.inf' || v === '.nan') return new Unsupported(`the float ${text} (no JSON form)`, pos);
  if (v.includes(':')) {
    let n = 0;
    for (const part of v.split(':')) n = n * 60 + Number(part);
    return pyFloat(sign * n);
  }
  return pyFloat(sign * Number(v));
}

/** The type PyYAML's resolver gives a plain scalar. */
export function resolvePlain(text: string, pos: SourcePos): Value {
  const c = text[0] ?? '';
  if ('yYnNtTfFoO'.includes(c) && c && BOOL.test(text)) return /^(?:yes|true|on)$/i.test(text);
  if ('-+0123456789.'.includes(c) && c && FLOAT.test(text)) return yamlFloat(text, pos);
  if ('-+0123456789'.includes(c) && c && INT.test(text)) return yamlInt(text, pos);
  if (text === '<<') return '<<';
  if (('~nN'.includes(c) || text === '') && NULL.test(text)) return null;
  if ('0123456789'.includes(c) && c && TIMESTAMP.test(text)) return new Unsupported(`the timestamp ${text} (quote it to keep it a string)`, pos);
  return text;
}

const STD = 'tag:yaml.org,2002:';

/** Parse YAML/JSON text into a positioned tree. Throws YamlSyntaxError (with position). */
export function parseYamlFile(text: string, file: string): PNode | undefined {
  let isJson = false;
  try { JSON.parse(text); isJson = true; } catch { /* not JSON: YAML */ }
  const lc = new LineCounter();
  const doc = parseDocument(text, { schema: isJson ? 'json' : 'failsafe', lineCounter: lc, uniqueKeys: false, prettyErrors: false, keepSourceTokens: false });
  const posAt = (offset: number): SourcePos => { const lp = lc.linePos(offset); return { file, line: lp.line, col: lp.col }; };
  const err = doc.errors[0];
  if (err) throw new YamlSyntaxError(`YAML syntax error: ${err.message.split('\n')[0]}`, posAt(err.pos[0]));
  if (doc.contents === null || doc.contents === undefined) return undefined;
  return new Converter(doc, posAt, isJson).node(doc.contents as Node);
}

class Converter {
  private readonly anchors = new Map<Node, PNode>();
  constructor(private readonly doc: Document, private readonly posAt: (o: number) => SourcePos, private readonly json: boolean) {}

  private pos(n: Node | Alias): SourcePos { return this.posAt(n.range?.[0] ?? 0); }

  node(n: Node | Alias | null): PNode {
    if (n === null || n === undefined) return { kind: 'scalar', value: null, pos: this.posAt(0) };
    if (isAlias(n)) {
      const target = n.resolve(this.doc) as Node | undefined;
      if (!target) throw new YamlSyntaxError(`YAML alias *${n.source} has no anchor`, this.pos(n));
      return this.anchors.get(target) ?? this.node(target);
    }
    const out = this.convert(n);
    if (n.anchor) this.anchors.set(n, out);
    return out;
  }

  private convert(n: Node): PNode {
    const pos = this.pos(n);
    const tag = n.tag;
    if (isScalar(n)) return { kind: 'scalar', value: this.scalar(n, pos), pos };
    if (isSeq(n)) {
      if (tag && tag !== `${STD}seq`) return { kind: 'scalar', value: new Unsupported(`the YAML tag ${tag}`, pos), pos };
      return { kind: 'seq', items: n.items.map((i) => this.node(i as Node)), pos };
    }
    if (isMap(n)) {
      if (tag && tag !== `${STD}map`) return { kind: 'scalar', value: new Unsupported(`the YAML tag ${tag}`, pos), pos };
      const explicit: PEntry[] = [];
      const merged: PEntry[] = [];
      for (const pair of n.items) {
        const kn = pair.key as Node | null;
        const key = kn === null ? { kind: 'scalar' as const, value: null, pos } : this.node(kn);
        const keyPos = kn ? this.pos(kn) : pos;
        const value = this.node(pair.value as Node | null);
        if (!this.json && key.kind === 'scalar' && key.value === '<<' && isScalar(kn) && kn.type === Scalar.PLAIN && !kn.tag) {
          // PyYAML flatten_mapping: merged entries come first and explicit keys override them; of several
          // merged mappings the first wins, so they are laid out last to first
          const sources = value.kind === 'seq' ? [...value.items] : [value];
          for (const src of sources.reverse()) {
            if (src.kind !== 'map') throw new YamlSyntaxError('a YAML merge key (<<) needs a mapping or a list of mappings', keyPos);
            merged.push(...src.entries);
          }
          continue;
        }
        if (key.kind !== 'scalar') {
          explicit.push({ key: new Unsupported('a mapping key that is a list or mapping', keyPos), keyPos, value });
          continue;
        }
        explicit.push({ key: key.value, keyPos, value });
      }
      return { kind: 'map', entries: [...merged, ...explicit], pos };
    }
    return { kind: 'scalar', value: new Unsupported('this YAML node', pos), pos };
  }

  private scalar(n: Scalar, pos: SourcePos): Value {
    const raw = n.value;
    // json.loads: a number with a fraction or an exponent is a float (1.0, 1e3)
    if (this.json) return typeof raw === 'number' && /[.eE]/.test(n.source ?? '') ? pyFloat(raw) : raw as Value;
    const text = String(raw);
    const tag = n.tag;
    if (tag) {
      switch (tag) {
        case `${STD}str`: return text;
        case `${STD}int`: return INT.test(text) ? yamlInt(text, pos) : new Unsupported(`!!int ${JSON.stringify(text)}`, pos);
        case `${STD}float`: return FLOAT.test(text) || INT.test(text) ? yamlFloat(text, pos) : new Unsupported(`!!float ${JSON.stringify(text)}`, pos);
        case `${STD}bool`: return BOOL.test(text) ? /^(?:yes|true|on)$/i.test(text) : new Unsupported(`!!bool ${JSON.stringify(text)}`, pos);
        case `${STD}null`: return null;
        case '!unsafe': return new Unsupported('the !unsafe tag', pos);
        case '!vault': case '!vault-encrypted': return new Unsupported('vault-encrypted values (!vault)', pos);
        default: return new Unsupported(`the YAML tag ${tag}`, pos);
      }
    }
    if (n.type !== Scalar.PLAIN) return text;
    return resolvePlain(text, pos);
  }
}

/** The plain value of a positioned node (mappings with string keys; duplicate keys: the last wins, as PyYAML). */
export function toValue(n: PNode): Value {
  switch (n.kind) {
    case 'scalar': return n.value;
    case 'seq': return n.items.map(toValue);
    case 'map': {
      const out: { [k: string]: Value } = {};
      for (const e of n.entries) {
        if (e.key instanceof Unsupported) return e.key;
        if (e.key === null || typeof e.key === 'object') return new Unsupported('a mapping key that is null or a list', e.keyPos);
        if (typeof e.key !== 'string') return new Unsupported(`a mapping key that is not a string (${JSON.stringify(e.key)}): quote it`, e.keyPos);
        out[e.key] = toValue(e.value);
      }
      return out;
    }
  }
}

/** The first Unsupported marker inside a value, if any. */
export function findUnsupported(v: Value): Unsupported | undefined {
  if (v instanceof Unsupported) return v;
  if (Array.isArray(v)) { for (const x of v) { const u = findUnsupported(x); if (u) return u; } return undefined; }
  if (v && typeof v === 'object' && !(v instanceof PyFloat)) { for (const x of Object.values(v)) { const u = findUnsupported(x); if (u) return u; } }
  return undefined;
}
