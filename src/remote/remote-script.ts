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
 * Several scripts sent as one (one round trip): lib.sh once, then each one's parameters and body in turn.
 * Each part's parameters are assigned just before its body, so parts may use the same names; a part's
 * `set -e` holds for the parts after it.
 */
export function remoteScripts(...parts: readonly ScriptPart[]): string {
  return [source('lib'), ...parts.map((p) => p.text)].join('\n');
}

/** The script text to send: lib.sh, the parameters, the script. */
export function remoteScript<N extends keyof RemoteScripts & string>(name: N, params: RemoteScripts[N]): string {
  return remoteScripts(scriptPart(name, params));
}

/** The same for a script named at run time (tests, shellcheck): the parameters are checked when it is built. */
export function remoteScriptUnchecked(name: string, params: Readonly<Record<string, ScriptValue>>): string {
  return remoteScripts(scriptPartUnchecked(name, params));
}
