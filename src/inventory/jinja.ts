/**
 * The part of Jinja that inventories use in connection and flannel settings, evaluated per host after the
 * variables are merged (as Ansible templates them when a task reads them):
 *   {{ lookup('env', 'X') }}          the controller's environment (unset: refused unless a default follows)
 *   {{ other_var }}                   another variable of the host (templated in turn; loops are refused)
 *   {{ inventory_hostname }}          the host's inventory name (and inventory_hostname_short)
 *   {{ x | default('y') }}            `d` too; default(v, true) also replaces empty/false values
 *   'literal' / 123 / true / none     literals (as default arguments or on their own)
 * Text around expressions is joined as strings (Python's str(): True, None, 1.5). A value that is a single
 * `{{ expr }}` keeps the type of what it names (`ansible_port: "{{ ssh_port }}"` stays a number).
 * Everything else — other filters, tests, operators, attribute access, `{% %}` statements — is refused by
 * name ("filter 'upper' is not supported"), never left as literal text.
 */
import type { SourcePos } from './types.js';
import { findUnsupported, Unsupported, type Value } from './yaml-values.js';
import { PyFloat, pyFloat, pyNumberStr } from './py-float.js';

export class TemplateError extends Error {
  constructor(message: string, readonly pos?: SourcePos) { super(message); }
}

/** What a template can see of its host. */
export interface TemplateScope {
  /** raw (untemplated) variable of the host, or undefined when it has none */
  raw(name: string): { value: Value; pos: SourcePos } | undefined;
  hostName: string;
  env: NodeJS.ProcessEnv;
}

type Tok = { t: 'name' | 'str' | 'num' | 'op'; v: string; num?: number };

function tokenize(expr: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (/[A-Za-z_]/.test(c)) {
      let j = i + 1;
      while (j < expr.length && /[A-Za-z0-9_]/.test(expr[j]!)) j++;
      out.push({ t: 'name', v: expr.slice(i, j) }); i = j; continue;
    }
    if (/[0-9]/.test(c)) {
      const m = /^[0-9]+(?:\.[0-9]+)?/.exec(expr.slice(i))!;
      out.push({ t: 'num', v: m[0], num: Number(m[0]) }); i += m[0].length; continue;
    }
    if (c === "'" || c === '"') {
      let j = i + 1;
      let s = '';
      while (j < expr.length && expr[j] !== c) {
        if (expr[j] === '\\' && j + 1 < expr.length) { s += expr[j + 1]; j += 2; continue; }
        s += expr[j]; j++;
      }
      if (j >= expr.length) throw new TemplateError(`unterminated string in "{{ ${expr} }}"`);
      out.push({ t: 'str', v: s }); i = j + 1; continue;
    }
    const two = expr.slice(i, i + 2);
    if (['==', '!=', '<=', '>=', '//', '**'].includes(two)) { out.push({ t: 'op', v: two }); i += 2; continue; }
    out.push({ t: 'op', v: c }); i++;
  }
  return out;
}

const OPERATOR_NAMES: Record<string, string> = {
  '+': "the '+' operator", '-': "the '-' operator", '*': "the '*' operator", '/': "the '/' operator", '~': "the '~' (concatenate) operator",
  '%': "the '%' operator", '==': 'comparisons', '!=': 'comparisons', '<': 'comparisons', '>': 'comparisons', '<=': 'comparisons', '>=': 'comparisons',
  '.': "attribute access ('a.b')", '[': "subscripts ('a[...]')", '//': "the '//' operator", '**': "the '**' operator",
};

const UNDEFINED = Symbol('undefined');
type EvalValue = Value | typeof UNDEFINED;

class ExprParser {
  private i = 0;
  constructor(private readonly toks: Tok[], private readonly src: string, private readonly ev: Evaluator) {}
  private peek(): Tok | undefined { return this.toks[this.i]; }
  private isOp(v: string): boolean { const t = this.peek(); return t?.t === 'op' && t.v === v; }
  private refuse(what: string): never { throw new TemplateError(`${what}: not supported in "{{ ${this.src} }}"; flanprov evaluates variable references, lookup('env', ...) and the default filter only`); }

  parse(): EvalValue {
    if (!this.toks.length) throw new TemplateError('empty expression "{{ }}"');
    const v = this.filtered();
    const t = this.peek();
    if (t) {
      if (t.t === 'name' && ['if', 'and', 'or', 'not', 'in', 'is'].includes(t.v)) this.refuse(t.v === 'is' ? 'tests (is ...)' : `'${t.v}' expressions`);
      if (t.t === 'op' && OPERATOR_NAMES[t.v]) this.refuse(OPERATOR_NAMES[t.v]!);
      throw new TemplateError(`cannot read "{{ ${this.src} }}" (unexpected "${t.v}")`);
    }
    return v;
  }

  private filtered(): EvalValue {
    let v = this.primary();
    while (this.isOp('|')) {
      this.i++;
      const f = this.peek();
      if (f?.t !== 'name') throw new TemplateError(`a filter name must follow "|" in "{{ ${this.src} }}"`);
      this.i++;
      if (f.v !== 'default' && f.v !== 'd') {
        throw new TemplateError(`filter '${f.v}' is not supported in "{{ ${this.src} }}": flanprov evaluates the default filter only; compute the value and write it in the inventory`);
      }
      const args: EvalValue[] = [];
      if (this.isOp('(')) {
        this.i++;
        while (!this.isOp(')')) {
          args.push(this.filtered());
          if (this.isOp(',')) { this.i++; continue; }
          if (!this.isOp(')')) throw new TemplateError(`cannot read the arguments of default() in "{{ ${this.src} }}"`);
        }
        this.i++;
      }
      if (args.length > 2) throw new TemplateError(`default() takes at most 2 arguments in "{{ ${this.src} }}"`);
      const fallback = args.length ? args[0]! : '';
      const boolean = args.length > 1 ? truthy(args[1]!) : false;
      if (v === UNDEFINED || (boolean && !truthy(v))) v = fallback;
    }
    return v;
  }

  private primary(): EvalValue {
    const t = this.peek();
    if (!t) throw new TemplateError(`incomplete expression "{{ ${this.src} }}"`);
    this.i++;
    if (t.t === 'str') return t.v;
    if (t.t === 'num') return t.v.includes('.') ? pyFloat(t.num!) : t.num!; // a literal with a dot is a float in Jinja too
    if (t.t === 'op') {
      if (t.v === '(') {
        const v = this.filtered();
        if (!this.isOp(')')) throw new TemplateError(`missing ")" in "{{ ${this.src} }}"`);
        this.i++;
        return v;
      }
      if (t.v === '[' || t.v === '{') this.refuse(t.v === '[' ? 'list literals' : 'dict literals');
      this.refuse(OPERATOR_NAMES[t.v] ?? `"${t.v}"`);
    }
    const name = t.v;
    if (['true', 'True'].includes(name)) return true;
    if (['false', 'False'].includes(name)) return false;
    if (['none', 'None'].includes(name)) return null;
    if (['not', 'if', 'lambda'].includes(name)) this.refuse(`'${name}' expressions`);
    if (this.isOp('(')) {
      if (name !== 'lookup') this.refuse(`the function ${name}()`);
      return this.lookup();
    }
    if (this.isOp('.') || this.isOp('[')) {
      this.ev.checkName(name);
      this.refuse(OPERATOR_NAMES[this.peek()!.v]!);
    }
    return this.ev.variable(name);
  }

  private lookup(): EvalValue {
    this.i++; // (
    const args: Tok[] = [];
    while (!this.isOp(')')) {
      const a = this.peek();
      if (!a) throw new TemplateError(`missing ")" in "{{ ${this.src} }}"`);
      if (a.t !== 'str') this.refuse('lookup() arguments other than quoted strings');
      args.push(a); this.i++;
      if (this.isOp(',')) this.i++;
      else if (this.isOp('=')) this.refuse('lookup() keyword arguments');
    }
    this.i++;
    const [plugin, name] = [args[0]?.v, args[1]?.v];
    if (plugin !== 'env') throw new TemplateError(`lookup plugin '${plugin ?? ''}' is not supported in "{{ ${this.src} }}": only lookup('env', 'NAME')`);
    if (args.length !== 2 || !name) throw new TemplateError(`lookup('env', ...) takes one variable name in "{{ ${this.src} }}"`);
    const v = this.ev.env[name];
    if (v === undefined) {
      // Ansible reads an unset variable as ''; a following default(..., true) can replace it
      if (this.isOp('|')) return '';
      throw new TemplateError(`environment variable ${name} is not set (read by "{{ ${this.src} }}")`);
    }
    return v;
  }
}

function truthy(v: EvalValue): boolean {
  if (v === UNDEFINED || v === null || v === false || v === 0 || v === '') return false;
  if (v instanceof PyFloat) return v.value !== 0;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object' && !(v instanceof Unsupported)) return Object.keys(v).length > 0;
  return true;
}

/** Python's str() of a value joined into text. */
function pyStr(v: Value, where: string): string {
  if (v === null) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'number' || v instanceof PyFloat) return pyNumberStr(v);
  if (typeof v === 'string') return v;
  throw new TemplateError(`${where}: a list or mapping cannot be joined into text`);
}

class Evaluator {
  private readonly stack: string[] = [];
  private readonly done = new Map<string, EvalValue>();
  constructor(readonly scope: TemplateScope) {}
  get env(): NodeJS.ProcessEnv { return this.scope.env; }

  /** Magic variables of Ansible that flanprov does not have. */
  checkName(name: string): void {
    if (['hostvars', 'groups', 'group_names', 'ansible_facts', 'omit', 'play_hosts', 'ansible_play_hosts'].includes(name)) {
      throw new TemplateError(`the variable '${name}' is not supported in templates: flanprov knows the host's own variables and inventory_hostname`);
    }
  }

  variable(name: string): EvalValue {
    if (name === 'inventory_hostname') return this.scope.hostName;
    if (name === 'inventory_hostname_short') return this.scope.hostName.split('.')[0]!;
    this.checkName(name);
    const d = this.done.get(name);
    if (d !== undefined) return d;
    const raw = this.scope.raw(name);
    if (!raw) return UNDEFINED;
    if (this.stack.includes(name)) {
      throw new TemplateError(`recursive loop in templates: ${[...this.stack.slice(this.stack.indexOf(name)), name].join(' -> ')}`, raw.pos);
    }
    this.stack.push(name);
    try {
      const v = this.value(raw.value, raw.pos, name);
      this.done.set(name, v);
      return v;
    } finally {
      this.stack.pop();
    }
  }

  value(v: Value, pos: SourcePos, name: string): Value {
    const u = findUnsupported(v);
    if (u) throw new TemplateError(`${u.feature} is not supported (in ${name})`, u.pos);
    if (typeof v === 'string') return this.text(v, pos, name);
    if (Array.isArray(v)) return v.map((x) => this.value(x, pos, name));
    if (v && typeof v === 'object' && !(v instanceof PyFloat)) {
      const out: { [k: string]: Value } = {};
      for (const [k, x] of Object.entries(v as { [k: string]: Value })) out[k] = this.value(x, pos, name);
      return out;
    }
    return v;
  }

  private text(s: string, pos: SourcePos, name: string): Value {
    if (!s.includes('{')) return s;
    if (/\{%/.test(s)) throw new TemplateError(`Jinja statements ({% ... %}) are not supported in ${name}: write the value itself`, pos);
    if (/\{#/.test(s)) throw new TemplateError(`Jinja comments ({# ... #}) are not supported in ${name}`, pos);
    const parts: (string | { expr: string })[] = [];
    let i = 0;
    while (i < s.length) {
      const open = s.indexOf('{{', i);
      if (open < 0) { parts.push(s.slice(i)); break; }
      if (open > i) parts.push(s.slice(i, open));
      const close = findClose(s, open + 2);
      if (close < 0) throw new TemplateError(`"{{" without "}}" in ${name}`, pos);
      parts.push({ expr: s.slice(open + 2, close).trim() });
      i = close + 2;
    }
    const evalExpr = (expr: string): EvalValue => {
      try {
        return new ExprParser(tokenize(expr), expr, this).parse();
      } catch (e) {
        if (e instanceof TemplateError && !e.pos) throw new TemplateError(`${name}: ${e.message}`, pos);
        throw e;
      }
    };
    const undefinedError = (expr: string): TemplateError =>
      new TemplateError(`${name}: "{{ ${expr} }}" names an undefined variable: define it, or write "{{ ${expr} | default('...') }}"`, pos);
    if (parts.length === 1 && typeof parts[0] !== 'string') {
      const v = evalExpr(parts[0]!.expr);
      if (v === UNDEFINED) throw undefinedError(parts[0]!.expr);
      return v;
    }
    return parts.map((p) => {
      if (typeof p === 'string') return p;
      const v = evalExpr(p.expr);
      if (v === UNDEFINED) throw undefinedError(p.expr);
      return pyStr(v, name);
    }).join('');
  }
}

/** `}}` closing the expression that starts at `from` (skipping quoted strings). */
function findClose(s: string, from: number): number {
  let q: string | undefined;
  for (let i = from; i < s.length - 1; i++) {
    const c = s[i]!;
    if (q) { if (c === '\\') i++; else if (c === q) q = undefined; continue; }
    if (c === "'" || c === '"') { q = c; continue; }
    if (c === '}' && s[i + 1] === '}') return i;
  }
  return -1;
}

/** Template one variable of a host (its value, recursively through references). */
export function templateVar(scope: TemplateScope, name: string): Value | undefined {
  const r = new Evaluator(scope).variable(name);
  return r === UNDEFINED ? undefined : r;
}

/** A templating session for one host: references are evaluated once and shared. */
export function hostTemplater(scope: TemplateScope): (name: string) => Value | undefined {
  const ev = new Evaluator(scope);
  return (name) => {
    const r = ev.variable(name);
    return r === UNDEFINED ? undefined : r;
  };
}
