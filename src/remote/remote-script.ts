/**
 * Remote scripts as files: `remoteScript('facts', { AGENT_PATH: ..., PEERS: [...] })` is the text to send
 * (RemoteHost.run): scripts/lib.sh (the shared fragments), then the parameters as quoted bash assignments
 * (arrays as bash arrays, every value through `shq`), then scripts/NAME.sh. Still one script, one round
 * trip, and run() still wraps it in one `{ … }` so bash reads all of it before running any.
 *
 * Each script declares its parameters in a `# params: A B LIST[]` line; a call that misses one, adds one or
 * passes a list for a scalar (or the other way round) throws, so a script and its caller cannot drift apart.
 * Each caller declares its script's parameter types by augmenting `RemoteScripts`:
 *
 *   declare module '../../remote/remote-script.js' {
 *     interface RemoteScripts { facts: { AGENT_PATH: string; PEERS: readonly string[] } }
 *   }
 */
import { shq } from './command.js';
import { scriptSource } from './script-sources.js';

/** script name → its parameters (augmented by the module that runs the script). */
export interface RemoteScripts {}

export type ScriptScalar = string | number;
export type ScriptValue = ScriptScalar | readonly ScriptScalar[];

export interface ScriptParam {
  name: string;
  list: boolean;
}

const PARAMS_RE = /^# params:(.*)$/m;

/** The parameters a script declares in its `# params:` line (none without one). */
export function declaredParams(text: string): ScriptParam[] {
  const m = PARAMS_RE.exec(text);
  if (!m) return [];
  return m[1]!.trim().split(/\s+/).filter(Boolean).map((w) => {
    const list = w.endsWith('[]');
    const name = list ? w.slice(0, -2) : w;
    if (!/^[A-Z][A-Z0-9_]*$/.test(name)) throw new Error(`remote script: bad parameter name ${JSON.stringify(w)} in its # params line`);
    return { name, list };
  });
}

const cache = new Map<string, string>();
function source(name: string): string {
  let s = cache.get(name);
  if (s === undefined) {
    s = scriptSource(name);
    cache.set(name, s);
  }
  return s;
}

/** The assignment block for `params` as `declared` says (throws on a missing, extra or mistyped one). */
export function assignments(script: string, declared: readonly ScriptParam[], params: Readonly<Record<string, ScriptValue>>): string {
  const given = new Set(Object.keys(params));
  const lines: string[] = [];
  for (const p of declared) {
    if (!given.delete(p.name)) throw new Error(`remote script ${script}: parameter ${p.name} missing`);
    const v = params[p.name]!;
    if (Array.isArray(v) !== p.list) throw new Error(`remote script ${script}: parameter ${p.name} must be ${p.list ? 'a list' : 'a single value'}`);
    lines.push(Array.isArray(v) ? `${p.name}=(${v.map((x) => shq(String(x))).join(' ')})` : `${p.name}=${shq(String(v))}`);
  }
  if (given.size) throw new Error(`remote script ${script}: unknown parameter(s) ${[...given].join(', ')}`);
  return lines.join('\n');
}

/** One script's parameters and body, without lib.sh: a part of a script that runs several (remoteScripts). */
export interface ScriptPart {
  readonly name: string;
  readonly text: string;
}

/** A part for remoteScripts. */
export function scriptPart<N extends keyof RemoteScripts & string>(name: N, params: RemoteScripts[N]): ScriptPart {
  return scriptPartUnchecked(name, params as Readonly<Record<string, ScriptValue>>);
}

/** The same for a script named at run time (tests): the parameters are checked when it is built. */
export function scriptPartUnchecked(name: string, params: Readonly<Record<string, ScriptValue>>): ScriptPart {
  const body = source(name);
  return { name, text: `${assignments(name, declaredParams(body), params)}\n${body}` };
}

/**
 * lib.sh in pieces: each function with the comment and top-level assignments before it (`names`: the
 * function and the variables those assign), and what follows the last function. Comment-only lines are
 * left out of the text (a `# shellcheck` directive is kept: shellcheck reads the text as sent).
 */
interface LibChunk {
  names: string[];
  text: string;
  /** the words the chunk's code uses (comments left out) */
  words: Set<string>;
}

const FUNC_RE = /^([A-Za-z_][A-Za-z0-9_]*)\(\)\s*\{/;
const ASSIGN_RE = /^([A-Za-z_][A-Za-z0-9_]*)=/;
const WORD_RE = /[A-Za-z_][A-Za-z0-9_]*/g;

function wordsOf(code: string): Set<string> {
  return new Set(code.match(WORD_RE) ?? []);
}

function isComment(line: string): boolean {
  return /^\s*#/.test(line) && !/^\s*# shellcheck /.test(line);
}

export function libChunks(lib: string): LibChunk[] {
  const chunks: LibChunk[] = [];
  let lines: string[] = [];
  let names: string[] = [];
  let inFunc = false;
  const close = (): void => {
    const code = lines.filter((l) => !isComment(l) && l.trim() !== '');
    chunks.push({ names, text: code.join('\n'), words: wordsOf(code.join('\n')) });
    lines = [];
    names = [];
  };
  for (const line of lib.split('\n')) {
    lines.push(line);
    if (inFunc) {
      if (line === '}') { inFunc = false; close(); }
      continue;
    }
    const f = FUNC_RE.exec(line);
    if (f) {
      names.push(f[1]!);
      // a one-line function (`sec() { …; }`) ends on its own line
      if (/\}\s*$/.test(line)) close();
      else inFunc = true;
      continue;
    }
    const a = ASSIGN_RE.exec(line);
    if (a) names.push(a[1]!);
  }
  if (inFunc) throw new Error('lib.sh: a function without its closing "}" line');
  if (lines.some((l) => !isComment(l) && l.trim() !== '')) close();
  return chunks;
}

let libCache: LibChunk[] | undefined;

function chunks(): LibChunk[] {
  libCache ??= libChunks(source('lib'));
  return libCache;
}

/** The chunks `code` needs: the functions (and variables) it names, and those they name in turn. */
function closure(code: string): Set<LibChunk> {
  const want = wordsOf(code);
  const take = new Set<LibChunk>();
  for (let grew = true; grew;) {
    grew = false;
    for (const c of chunks()) {
      if (take.has(c) || !(c.names.length === 0 || c.names.some((n) => want.has(n)))) continue;
      take.add(c);
      for (const w of c.words) want.add(w);
      grew = true;
    }
  }
  return take;
}

/** closure() of each script file, computed once: a run builds the same scripts for every host. */
const closureCache = new Map<string, Set<LibChunk>>();

/**
 * What a script file needs of lib.sh, from its own text: a parameter value never pulls a function in (a
 * value is data, never run), so this is the same for every call (cached per name).
 */
function closureOf(name: string): Set<LibChunk> {
  let c = closureCache.get(name);
  if (!c) {
    c = closure(source(name));
    closureCache.set(name, c);
  }
  return c;
}

function libText(take: ReadonlySet<LibChunk>): string {
  return chunks().filter((c) => take.has(c)).map((c) => c.text).join('\n');
}

/**
 * The part of lib.sh that `code` needs: the functions (and variables) it names, and those they name in
 * turn. Sent in full, lib.sh (19 KB, mostly comments) is more than a fresh TCP connection's first window
 * (10 segments): the script then arrives a round trip later, on every request (docs/round-trips.md).
 */
export function libFor(code: string): string {
  return libText(closure(code));
}

/**
 * Several scripts sent as one (one round trip): what they need of lib.sh once (libFor), then each one's
 * parameters and body in turn. Each part's parameters are assigned just before its body, so parts may use
 * the same names; a part's `set -e` holds for the parts after it.
 */
export function remoteScripts(...parts: readonly ScriptPart[]): string {
  const take = new Set<LibChunk>();
  for (const p of parts) for (const c of closureOf(p.name)) take.add(c);
  return [libText(take), ...parts.map((p) => p.text)].join('\n');
}

/** The script text to send: lib.sh, the parameters, the script. */
export function remoteScript<N extends keyof RemoteScripts & string>(name: N, params: RemoteScripts[N]): string {
  return remoteScripts(scriptPart(name, params));
}

/** The same for a script named at run time (tests, shellcheck): the parameters are checked when it is built. */
export function remoteScriptUnchecked(name: string, params: Readonly<Record<string, ScriptValue>>): string {
  return remoteScripts(scriptPartUnchecked(name, params));
}
