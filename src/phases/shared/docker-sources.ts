/**
 * Docker's effective bridge settings from every source, the way systemd and dockerd read them (issue 9.1):
 * docker.service and its drop-ins in `systemctl cat` order (an empty `ExecStart=` resets), `Environment=`
 * and `EnvironmentFile=` (files override `Environment=`, later files override earlier ones), `$VAR` /
 * `${VAR}` expanded in ExecStart as systemd does, plus daemon.json. Every setting keeps the file and line
 * that set it, so preflight can name it: tutorial hosts get `--bip/--mtu` from /etc/default/docker's
 * DOCKER_OPTS, from mk-docker-opts.sh's /run/docker_opts.env, from a drop-in's ExecStart or from
 * daemon.json, and a second `--bip` from our drop-in only fails after Docker restarted.
 * Pure: the facts script ships the unit text and the environment files' contents.
 */
import type { UnitFragment } from './docker-unit.js';

export interface SourceRef {
  file: string;
  /** 1-based line in that file (the first line of a continued logical line) */
  line: number;
}

export interface EnvVar {
  value: string;
  source: SourceRef;
}

/** One word of dockerd's effective command line, and where it came from. */
export interface DockerdArg {
  text: string;
  source: SourceRef;
  /** the environment variable it was expanded from, when it was */
  via?: string;
}

/** A setting that decides Docker's bridge: the flag (or daemon.json key) and its value. */
export interface DockerSetting {
  /** `bip`, `mtu`, `ip-masq`, `iptables`, `bridge`, `fixed-cidr` */
  name: DockerSettingName;
  value: string;
  source: SourceRef;
  via?: string;
  /** `flag` on dockerd's command line, `daemon.json` key */
  kind: 'flag' | 'daemon.json';
}

export const DOCKER_SETTING_NAMES = ['bip', 'mtu', 'ip-masq', 'iptables', 'bridge', 'fixed-cidr'] as const;
export type DockerSettingName = (typeof DOCKER_SETTING_NAMES)[number];
/** The settings flanprov's drop-in owns (`--bip/--mtu/--ip-masq=false`) or that would move the bridge. */
export const FLANNEL_OWNED_SETTINGS: readonly DockerSettingName[] = ['bip', 'mtu', 'ip-masq', 'bridge', 'fixed-cidr'];

export interface EnvironmentFileRef {
  path: string;
  /** `-` prefix: a missing file is no error */
  optional: boolean;
  source: SourceRef;
}

export interface ServiceDirectives {
  execStart?: { command: string; source: SourceRef };
  /** every ExecStart= line (resets included), in order: a drop-in sorting after flanprov's replaces its line */
  execStartLines: SourceRef[];
  environment: Map<string, EnvVar>;
  environmentFiles: EnvironmentFileRef[];
}

/** Logical lines of a unit file with their first line numbers: comments dropped, continuations joined. */
export function unitLogicalLines(text: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  let acc = '';
  let start = 0;
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\s+$/, '');
    if (!acc && (/^\s*[#;]/.test(line) || !line.trim())) return;
    if (!acc) start = i + 1;
    if (line.endsWith('\\')) {
      acc += line.slice(0, -1) + ' ';
      return;
    }
    out.push({ text: (acc + line).trim(), line: start });
    acc = '';
  });
  if (acc.trim()) out.push({ text: acc.trim(), line: start });
  return out;
}

/**
 * Splits a systemd command line or assignment list into words: whitespace separates, "…" and '…' quote
 * (quotes removed), backslash escapes the next character. `$VAR` handling is left to the caller, so a
 * word keeps its `$`.
 */
export function splitUnitWords(s: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  let quote: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = undefined;
      else if (c === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

/** `[Service]` ExecStart, Environment= and EnvironmentFile= across the fragments, skipping `exclude`. */
export function serviceDirectives(fragments: readonly UnitFragment[], exclude: readonly string[] = []): ServiceDirectives {
  const out: ServiceDirectives = { environment: new Map(), environmentFiles: [], execStartLines: [] };
  let execs: { command: string; source: SourceRef }[] = [];
  for (const f of fragments) {
    if (exclude.includes(f.path)) continue;
    let inService = false;
    for (const { text, line } of unitLogicalLines(f.text)) {
      const sec = /^\[(.+)\]$/.exec(text);
      if (sec) {
        inService = sec[1] === 'Service';
        continue;
      }
      if (!inService) continue;
      const m = /^([A-Za-z]+)\s*=\s*(.*)$/.exec(text);
      if (!m) continue;
      const [, key, raw] = m as unknown as [string, string, string];
      const v = raw.trim();
      const source = { file: f.path, line };
      if (key === 'ExecStart') {
        out.execStartLines.push(source);
        // an empty assignment resets the list; a service runs the last one
        if (!v) execs = [];
        else execs.push({ command: v.replace(/^[-@:+!|]+/, ''), source });
      } else if (key === 'Environment') {
        if (!v) out.environment.clear();
        for (const w of splitUnitWords(v)) {
          const eq = w.indexOf('=');
          if (eq > 0) out.environment.set(w.slice(0, eq), { value: w.slice(eq + 1), source });
        }
      } else if (key === 'EnvironmentFile') {
        if (!v) out.environmentFiles = [];
        for (const w of splitUnitWords(v)) {
          const optional = w.startsWith('-');
          out.environmentFiles.push({ path: optional ? w.slice(1) : w, optional, source });
        }
      }
    }
  }
  const last = execs[execs.length - 1];
  if (last) out.execStart = last;
  return out;
}

/**
 * An environment file as systemd reads it: `KEY=VALUE` lines, `#`/`;` comments, values in "…" or '…'
 * (quotes removed), a trailing backslash continues the line. Lines that are not assignments are skipped
 * (systemd logs and ignores them).
 */
export function parseEnvironmentFile(path: string, text: string): Map<string, EnvVar> {
  const out = new Map<string, EnvVar>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let line = lines[i]!;
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i];
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m || /^\s*[#;]/.test(line)) continue;
    let value = m[2]!;
    const q = /^"((?:[^"\\]|\\.)*)"$/.exec(value) ?? /^'([^']*)'$/.exec(value);
    if (q) value = q[1]!.replace(/\\(.)/g, '$1');
    out.set(m[1]!, { value, source: { file: path, line: start } });
  }
  return out;
}

/**
 * The environment ExecStart sees: Environment= first, then each EnvironmentFile= in order (files override).
 * `files` holds the contents the host could read; a missing optional file contributes nothing.
 */
export function serviceEnvironment(d: ServiceDirectives, files: ReadonlyMap<string, string>): Map<string, EnvVar> {
  const env = new Map(d.environment);
  for (const ef of d.environmentFiles) {
    const text = files.get(ef.path);
    if (text === undefined) continue;
    for (const [k, v] of parseEnvironmentFile(ef.path, text)) env.set(k, v);
  }
  return env;
}

/**
 * ExecStart's words after systemd's variable expansion: a word that is exactly `$VAR` becomes the value
 * split at whitespace (zero or more words); `${VAR}` anywhere is replaced in place and stays one word.
 * A `$VAR` inside a longer word is not expanded by systemd and is kept. Unset variables are empty.
 */
export function expandExecStart(command: string, source: SourceRef, env: ReadonlyMap<string, EnvVar>): DockerdArg[] {
  const out: DockerdArg[] = [];
  for (const w of splitUnitWords(command)) {
    const whole = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(w);
    if (whole) {
      const v = env.get(whole[1]!);
      if (v) for (const part of v.value.split(/\s+/).filter(Boolean)) out.push({ text: part, source: v.source, via: whole[1]! });
      continue;
    }
    let via: string | undefined;
    let src = source;
    const text = w.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
      const v = env.get(name);
      if (v) {
        via = name;
        src = v.source;
      }
      return v?.value ?? '';
    });
    out.push({ text, source: src, ...(via ? { via } : {}) });
  }
  return out;
}

const FLAG_NAMES: Record<string, DockerSettingName> = {
  '--bip': 'bip', '--mtu': 'mtu', '--ip-masq': 'ip-masq', '--iptables': 'iptables',
  '-b': 'bridge', '--bridge': 'bridge', '--fixed-cidr': 'fixed-cidr',
};
const BOOLEAN_SETTINGS: readonly DockerSettingName[] = ['ip-masq', 'iptables'];

/** The bridge settings on dockerd's command line (`--bip=X`, `--bip X`, `--ip-masq`, `--ip-masq=false`). */
export function flagSettings(args: readonly DockerdArg[]): DockerSetting[] {
  const out: DockerSetting[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const m = /^(-b|--[a-z-]+)(?:=(.*))?$/.exec(a.text);
    const name = m ? FLAG_NAMES[m[1]!] : undefined;
    if (!m || !name) continue;
    let value = m[2];
    if (value === undefined) {
      if (BOOLEAN_SETTINGS.includes(name)) value = 'true';
      else value = args[++i]?.text ?? '';
    }
    out.push({ name, value, source: a.source, ...(a.via ? { via: a.via } : {}), kind: 'flag' });
  }
  return out;
}

/** The bridge settings in daemon.json, each with the line its key is on. */
export function daemonJsonSettings(path: string, text: string, json: Record<string, unknown>): DockerSetting[] {
  const lines = text.split('\n');
  return DOCKER_SETTING_NAMES.filter((k) => k in json).map((name) => {
    const idx = lines.findIndex((l) => l.includes(`"${name}"`));
    return { name, value: typeof json[name] === 'string' ? (json[name] as string) : JSON.stringify(json[name]), source: { file: path, line: idx + 1 || 1 }, kind: 'daemon.json' as const };
  });
}

export interface DockerSourcesInput {
  /** `systemctl cat docker.service`, split */
  fragments: readonly UnitFragment[];
  /** fragments not to count (flanprov's own drop-in) */
  exclude: readonly string[];
  /** the environment files' contents the host could read, by path */
  environmentFiles: ReadonlyMap<string, string>;
  daemonJson?: { path: string; text: string; json: Record<string, unknown> };
}

export interface DockerSources {
  /** ExecStart as written (variables not expanded): what flanprov's drop-in repeats */
  execStart?: { command: string; source: SourceRef };
  /** dockerd's effective command line, expanded */
  args: DockerdArg[];
  execStartLines: SourceRef[];
  environmentFiles: EnvironmentFileRef[];
  /** every bridge setting, in the order dockerd would see them (flags, then daemon.json) */
  settings: DockerSetting[];
  /** the text of every file read (unit fragments, environment files, daemon.json), for adoption's edits */
  files: Map<string, string>;
}

export function dockerSources(inp: DockerSourcesInput): DockerSources {
  const d = serviceDirectives(inp.fragments, inp.exclude);
  const env = serviceEnvironment(d, inp.environmentFiles);
  const args = d.execStart ? expandExecStart(d.execStart.command, d.execStart.source, env) : [];
  const settings = [...flagSettings(args), ...(inp.daemonJson ? daemonJsonSettings(inp.daemonJson.path, inp.daemonJson.text, inp.daemonJson.json) : [])];
  const files = new Map<string, string>([...inp.fragments.map((f) => [f.path, f.text] as const), ...inp.environmentFiles]);
  if (inp.daemonJson) files.set(inp.daemonJson.path, inp.daemonJson.text);
  return { ...(d.execStart ? { execStart: d.execStart } : {}), args, execStartLines: d.execStartLines, environmentFiles: d.environmentFiles, settings, files };
}

/** "/etc/default/docker:3 (DOCKER_OPTS) sets --bip=10.99.5.1/24" — one setting, for a message. */
export function describeSetting(s: DockerSetting): string {
  const what = s.kind === 'flag' ? `--${s.name}=${s.value}` : `"${s.name}": ${s.value}`;
  return `${s.source.file}:${s.source.line}${s.via ? ` (${s.via})` : ''} sets ${what}`;
}
