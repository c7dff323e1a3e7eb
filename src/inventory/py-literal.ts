/**
 * Python's `ast.literal_eval` as Ansible's INI plugin applies it to every value (`_parse_value`): a value that
 * is a Python literal becomes that literal (`1` -> 1, `True` -> true, `[1, 'a']` -> list, `'x'` -> "x",
 * `0x1f` -> 31, `1e3` -> 1000.0); anything else (`yes`, `true`, `10.0.0.1`, `0644`, `/usr/bin`, `a b`) stays
 * the raw string. The grammar below is Python 3.11's for the literal subset: numbers (all bases, underscores,
 * floats), strings (prefixes, escapes, implicit concatenation), True/False/None, tuples, lists, dicts,
 * parentheses, unary +/- on numbers, comments.
 *
 * Literals Python accepts that have no JSON form (complex numbers, bytes inside containers, sets, Ellipsis,
 * non-string dict keys, integers beyond 2^53) are refused by name (UnsupportedLiteral), never guessed.
 */

import { PyFloat, pyFloat } from './py-float.js';

export class UnsupportedLiteral extends Error {}

/** Raised inside the parser for input that is not a literal: the caller keeps the raw string. */
class NotALiteral extends Error {}

type Tok =
  | { t: 'num'; v: number; text: string; kind: 'int' | 'float' }
  | { t: 'str'; v: string; bytes: boolean; fstring: boolean }
  | { t: 'name'; v: string }
  | { t: 'op'; v: string };

const NAME_START = /[A-Za-z_\u0080-\uffff]/;
const NAME_CHAR = /[A-Za-z0-9_\u0080-\uffff]/;

/** Python number token at s[i] (the caller checked it starts with a digit or '.digit'). */
function readNumber(s: string, i: number): { tok: Tok; end: number } {
  const rest = s.slice(i);
  const bad = (): never => { throw new NotALiteral(); };
  const tail = (end: number): number => {
    // A number directly followed by a name character is a syntax error ("invalid decimal literal"), except
    // keywords Python 3.11 still splits off (1if, 1or, ...): both give "not a literal" for our purposes.
    if (end < s.length && NAME_CHAR.test(s[end]!)) {
      if (/^[jJ]/.test(s[end]!)) throw new UnsupportedLiteral('complex numbers (e.g. 1j) are not supported');
      bad();
    }
    return end;
  };
  let m = /^0[xX](?:_?[0-9a-fA-F])+/.exec(rest) ?? /^0[oO](?:_?[0-7])+/.exec(rest) ?? /^0[bB](?:_?[01])+/.exec(rest);
  if (m) {
    const digits = m[0].slice(2).replace(/_/g, '');
    const base = /^0[xX]/.test(m[0]) ? 16 : /^0[oO]/.test(m[0]) ? 8 : 2;
    return { tok: { t: 'num', v: bigInt(digits, base), text: m[0], kind: 'int' }, end: tail(i + m[0].length) };
  }
  if (/^0[xXoObB]/.test(rest)) bad();
  const dec = '[0-9](?:_?[0-9])*';
  const exp = `[eE][-+]?${dec}`;
  m = new RegExp(`^(?:(?:${dec})?\\.${dec}(?:${exp})?|${dec}\\.(?:${exp})?|${dec}${exp})`).exec(rest);
  if (m) {
    return { tok: { t: 'num', v: Number(m[0].replace(/_/g, '')), text: m[0], kind: 'float' }, end: tail(i + m[0].length) };
  }
  m = new RegExp(`^${dec}`).exec(rest);
  if (!m) bad();
  const text = m![0];
  // "leading zeros in decimal integer literals are not permitted" (0, 00, 0_0 are fine)
  if (/^0/.test(text) && /[1-9]/.test(text)) bad();
  return { tok: { t: 'num', v: bigInt(text.replace(/_/g, ''), 10), text, kind: 'int' }, end: tail(i + text.length) };
}

function bigInt(digits: string, base: number): number {
  const b = BigInt(base);
  let n = 0n;
  for (const c of digits.toLowerCase()) n = n * b + BigInt(parseInt(c, base));
  if (n > BigInt(Number.MAX_SAFE_INTEGER)) throw new UnsupportedLiteral(`the integer ${n} is too large to be read exactly (more than 2^53)`);
  return Number(n);
}

const SIMPLE_ESCAPES: Record<string, string> = { '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\n': '' };

/** Python string token (prefix already consumed) starting at the quote s[i]. */
function readString(s: string, i: number, prefix: string): { tok: Tok; end: number } {
  const p = prefix.toLowerCase();
  const raw = p.includes('r');
  const bytes = p.includes('b');
  const fstring = p.includes('f');
  const q = s[i]!;
  const triple = s.startsWith(q.repeat(3), i);
  const close = triple ? q.repeat(3) : q;
  let j = i + close.length;
  let out = '';
  for (;;) {
    if (j >= s.length) throw new NotALiteral();
    if (s.startsWith(close, j)) { j += close.length; break; }
    const c = s[j]!;
    if (c === '\n' && !triple) throw new NotALiteral();
    if (c !== '\\') { out += c; j++; continue; }
    const n = s[j + 1];
    if (n === undefined) throw new NotALiteral();
    if (raw) { out += c + n; j += 2; continue; }
    if (n in SIMPLE_ESCAPES) { out += SIMPLE_ESCAPES[n]; j += 2; continue; }
    if (/[0-7]/.test(n)) {
      const m = /^[0-7]{1,3}/.exec(s.slice(j + 1))!;
      out += String.fromCharCode(parseInt(m[0], 8)); j += 1 + m[0].length; continue;
    }
    const hex = (len: number): void => {
      const h = s.slice(j + 2, j + 2 + len);
      if (!new RegExp(`^[0-9a-fA-F]{${len}}$`).test(h)) throw new NotALiteral();
      const cp = parseInt(h, 16);
      if (cp > 0x10ffff) throw new NotALiteral();
      out += String.fromCodePoint(cp); j += 2 + len;
    };
    if (n === 'x') { hex(2); continue; }
    if (!bytes && n === 'u') { hex(4); continue; }
    if (!bytes && n === 'U') { hex(8); continue; }
    if (!bytes && n === 'N') throw new UnsupportedLiteral('\\N{...} escapes in INI values are not supported: write the character itself');
    // unknown escape: Python keeps the backslash (with a DeprecationWarning)
    out += c + n; j += 2;
  }
  return { tok: { t: 'str', v: out, bytes, fstring }, end: j };
}

function tokenize(s: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === ' ' || c === '\t' || c === '\f') { i++; continue; }
    if (c === '#') break;
    if (c === '\\' && s[i + 1] === '\n') { i += 2; continue; }
    if (c === '\n' || c === '\r') throw new NotALiteral();
    if (/[0-9]/.test(c) || (c === '.' && /[0-9]/.test(s[i + 1] ?? ''))) {
      const r = readNumber(s, i); toks.push(r.tok); i = r.end; continue;
    }
    if (c === '"' || c === "'") { const r = readString(s, i, ''); toks.push(r.tok); i = r.end; continue; }
    if (NAME_START.test(c)) {
      let j = i + 1;
      while (j < s.length && NAME_CHAR.test(s[j]!)) j++;
      const word = s.slice(i, j);
      if ((s[j] === '"' || s[j] === "'") && /^(?:[rRuUbBfF]|[rR][bBfF]|[bBfF][rR])$/.test(word)) {
        const r = readString(s, j, word); toks.push(r.tok); i = r.end; continue;
      }
      toks.push({ t: 'name', v: word }); i = j; continue;
    }
    if (s.startsWith('...', i)) { toks.push({ t: 'op', v: '...' }); i += 3; continue; }
    if (s.startsWith('**', i)) { toks.push({ t: 'op', v: '**' }); i += 2; continue; }
    if ('()[]{},:+-'.includes(c)) { toks.push({ t: 'op', v: c }); i++; continue; }
    // any other operator makes it an expression that is not a literal (or a syntax error)
    throw new NotALiteral();
  }
  return toks;
}

type PyValue = null | boolean | number | PyFloat | string | PyValue[] | { [k: string]: PyValue };

class Parser {
  private i = 0;
  constructor(private readonly toks: Tok[]) {}
  private peek(): Tok | undefined { return this.toks[this.i]; }
  private isOp(v: string): boolean { const t = this.peek(); return t?.t === 'op' && t.v === v; }
  private expectOp(v: string): void { if (!this.isOp(v)) throw new NotALiteral(); this.i++; }

  parseTop(): PyValue {
    if (!this.toks.length) throw new NotALiteral();
    const v = this.testlist(() => this.atEnd());
    if (!this.atEnd()) throw new NotALiteral();
    return v;
  }
  private atEnd(): boolean { return this.i >= this.toks.length; }

  /** expr (',' expr)* [','] — a tuple when there is a comma. `stop` says where the list ends. */
  private testlist(stop: () => boolean): PyValue {
    const first = this.expr();
    if (!this.isOp(',')) return first;
    const items = [first];
    while (this.isOp(',')) {
      this.i++;
      if (stop()) break;
      items.push(this.expr());
    }
    return items;
  }

  private expr(): PyValue {
    const r = this.unary();
    const t = this.peek();
    // `1+2j` (complex) is the only binary operation literal_eval allows; any other one is not a literal
    if (t?.t === 'op' && (t.v === '+' || t.v === '-')) throw new NotALiteral();
    return r.v;
  }

  /**
   * A value and whether it is a number constant (the only thing literal_eval lets a sign apply to; a
   * parenthesis creates no node, so `-(1)` is fine and `--1` / `-(-1)` are not literals).
   */
  private unary(): { v: PyValue; num: boolean } {
    const t = this.peek();
    if (t?.t === 'op' && (t.v === '+' || t.v === '-')) {
      this.i++;
      const inner = this.unary();
      if (typeof inner.v === 'boolean' && inner.num) throw new UnsupportedLiteral('a sign before True/False is not supported');
      const f = inner.v instanceof PyFloat;
      const n = inner.v instanceof PyFloat ? inner.v.value : inner.v;
      if (!inner.num || typeof n !== 'number') throw new NotALiteral();
      const v = t.v === '-' ? -n : n;
      return { v: f ? pyFloat(v === 0 ? 0 : v) : v === 0 ? 0 : v, num: false };
    }
    return this.atom();
  }

  private atom(): { v: PyValue; num: boolean } {
    const t = this.peek();
    if (!t) throw new NotALiteral();
    this.i++;
    const val = (v: PyValue): { v: PyValue; num: boolean } => ({ v, num: false });
    switch (t.t) {
      case 'num': return { v: t.kind === 'float' ? pyFloat(t.v) : t.v, num: true };
      case 'str': {
        const parts = [t];
        while (this.peek()?.t === 'str') parts.push(this.toks[this.i++] as Extract<Tok, { t: 'str' }>);
        if (parts.some((p) => p.fstring)) throw new NotALiteral();
        if (parts.some((p) => p.bytes) && !parts.every((p) => p.bytes)) throw new NotALiteral(); // cannot mix bytes and str
        if (parts[0]!.bytes) this.bytesSeen = true;
        return val(parts.map((p) => p.v).join(''));
      }
      case 'name':
        if (t.v === 'True') return { v: true, num: true };
        if (t.v === 'False') return { v: false, num: true };
        if (t.v === 'None') return val(null);
        if (t.v === 'set' && this.isOp('(')) {
          this.i++;
          if (this.isOp(')')) throw new UnsupportedLiteral('sets (set()) are not supported: write a list [...]');
        }
        throw new NotALiteral();
      case 'op':
        if (t.v === '(') {
          if (this.isOp(')')) { this.i++; return val([]); }
          const inner = this.parenContent();
          this.expectOp(')');
          return inner;
        }
        if (t.v === '[') {
          const items: PyValue[] = [];
          while (!this.isOp(']')) {
            items.push(this.expr());
            if (this.isOp(',')) { this.i++; continue; }
            if (!this.isOp(']')) throw new NotALiteral();
          }
          this.i++;
          return val(items);
        }
        if (t.v === '{') return val(this.braces());
        if (t.v === '...') throw new UnsupportedLiteral('Ellipsis (...) is not supported');
        throw new NotALiteral();
    }
  }

  /** Inside ( ): an expression, or a tuple when there is a comma. */
  private parenContent(): { v: PyValue; num: boolean } {
    const head = this.unary();
    if (this.isOp('+') || this.isOp('-')) throw new NotALiteral();
    if (!this.isOp(',')) return head;
    const items = [head.v];
    while (this.isOp(',')) {
      this.i++;
      if (this.isOp(')')) break;
      items.push(this.expr());
    }
    return { v: items, num: false };
  }

  private braces(): PyValue {
    if (this.isOp('}')) { this.i++; return {}; }
    if (this.isOp('**')) throw new NotALiteral();
    const firstKey = this.expr();
    if (!this.isOp(':')) {
      // {a, b}: a set (of literals) or not a literal at all
      while (this.isOp(',')) { this.i++; if (this.isOp('}')) break; this.expr(); }
      this.expectOp('}');
      throw new UnsupportedLiteral('sets ({...} without key: value) are not supported: write a list [...]');
    }
    const out: { [k: string]: PyValue } = {};
    let key = firstKey;
    for (;;) {
      this.expectOp(':');
      const value = this.expr();
      if (typeof key !== 'string') {
        if (Array.isArray(key)) throw new UnsupportedLiteral('a dict key that is a list or tuple is not supported');
        throw new UnsupportedLiteral('dict keys that are not strings are not supported: quote the key');
      }
      // Python's dict keeps the first key's position and the last value
      out[key] = value;
      if (!this.isOp(',')) break;
      this.i++;
      if (this.isOp('}')) break;
      if (this.isOp('**')) throw new NotALiteral();
      key = this.expr();
    }
    this.expectOp('}');
    return out;
  }
  bytesSeen = false;
}

export type LiteralResult = { literal: true; value: PyValue; kind?: 'int' | 'float' } | { literal: false };

/**
 * literal_eval(v) as Ansible's INI plugin uses it. `{literal: false}` means "keep the raw string".
 * Throws UnsupportedLiteral for literals that have no faithful JSON form.
 */
export function pyLiteralEval(v: string): LiteralResult {
  const src = v.replace(/^[ \t]+/, '');
  if (src.includes('\0')) return { literal: false };
  try {
    const toks = tokenize(src);
    const p = new Parser(toks);
    const value = p.parseTop();
    if (p.bytesSeen && typeof value !== 'string') throw new UnsupportedLiteral('bytes literals (b"...") inside a list or dict are not supported');
    const only = toks.length === 1 && toks[0]!.t === 'num' ? toks[0] : undefined;
    return { literal: true, value, ...(only && only.t === 'num' ? { kind: only.kind } : {}) };
  } catch (e) {
    if (e instanceof NotALiteral) return { literal: false };
    throw e;
  }
}

/** Ansible INI `_parse_value`: the literal, or the raw text. */
export function iniValue(v: string): PyValue {
  const r = pyLiteralEval(v);
  return r.literal ? r.value : v;
}
