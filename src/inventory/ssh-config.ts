/**
 * OpenSSH client configuration (`~/.ssh/config`, `/etc/ssh/ssh_config`, or `-F FILE`), evaluated for one
 * destination the way ssh(1) does (readconf.c), for the settings flanprov connects with: HostName, User, Port,
 * IdentityFile (several), IdentitiesOnly, ProxyJump, UserKnownHostsFile and GlobalKnownHostsFile (several
 * each), HostKeyAlias, HashKnownHosts, StrictHostKeyChecking, ConnectTimeout.
 * - `Host` patterns (`*`, `?`, `!negated`; case-insensitive) match the name given to ssh; `Match all`,
 *   `Match host` (the HostName once set) and `Match originalhost`, each negatable; other Match criteria
 *   (exec, user, localuser, canonical, final, localnetwork, tagged) are refused by name;
 * - the first value obtained for a setting wins (command-line values come first); IdentityFile lines add up;
 * - `Include` takes globs, relative to ~/.ssh (to the system file's directory, /etc/ssh, in the system file), and
 *   only applies inside an active block, as in OpenSSH;
 * - the system file's path is a parameter (defaultConfigFiles), so tests use a fixture, never this machine's;
 * - settings that would change how the connection is made and that flanprov cannot honour (ProxyCommand,
 *   CanonicalizeHostname) are refused when they apply to the host; the rest (ServerAliveInterval, SendEnv,
 *   ControlMaster, ...) do not change where or as whom flanprov connects and are ignored.
 * `ssh -G` is the oracle of the unit tests (test/unit/inventory/ssh-config.test.ts). It lives in inventory/ (not
 * remote/) because the inventory layer resolves every connection setting and may not import remote/.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import type { SourcePos } from './types.js';

export class SshConfigError extends Error {
  constructor(message: string, readonly pos: SourcePos, readonly keyword = '') { super(message); }
}

/** Settings as ssh -G prints them (IdentityFile tokens unexpanded, as ssh -G shows them). */
export interface SshSettings {
  hostname: string;
  user: string;
  port: number;
  identityFiles: string[];
  identitiesOnly: boolean;
  /** undefined: not set; 'none': explicitly direct */
  proxyJump?: string;
  /** every file is read; accept-new writes to the first (tokens and ~ expanded, as ssh -G prints them) */
  userKnownHostsFiles: string[];
  /** read, never written (as written: ssh expands nothing in them) */
  globalKnownHostsFiles: string[];
  /** the name host keys are looked up and recorded under instead of the host name (and port) */
  hostKeyAlias?: string;
  /** accept-new records the host name hashed (`|1|salt|hash`) */
  hashKnownHosts: boolean;
  strictHostKeyChecking: 'yes' | 'no' | 'ask' | 'accept-new';
  connectTimeoutSec?: number;
  /** where each setting came from (for messages) */
  from: Partial<Record<SettingName, SourcePos>>;
}

type SettingName = 'hostname' | 'user' | 'port' | 'identitiesonly' | 'proxyjump' | 'userknownhostsfile' | 'globalknownhostsfile' | 'hostkeyalias'
  | 'hashknownhosts' | 'stricthostkeychecking' | 'connecttimeout' | 'identityfile';

/** Values given on the command line (`-o`, `-p`, `-l`, `-i`, `-J`): they come before the files. */
export interface SshOverrides {
  hostname?: string;
  user?: string;
  port?: number;
  identityFiles?: string[];
  identitiesOnly?: boolean;
  proxyJump?: string;
  userKnownHostsFiles?: string[];
  globalKnownHostsFiles?: string[];
  hostKeyAlias?: string;
  hashKnownHosts?: boolean;
  strictHostKeyChecking?: SshSettings['strictHostKeyChecking'];
  connectTimeoutSec?: number;
}

/** A config file to read; `system` marks /etc/ssh/ssh_config (its relative Includes are relative to its directory). */
export interface ConfigFile { file: string; system: boolean }

/** The system-wide client configuration OpenSSH reads after the user's. */
export const SYSTEM_SSH_CONFIG = '/etc/ssh/ssh_config';

export interface SshConfigContext {
  /** the controller user's home (ssh uses the passwd entry, not $HOME) */
  home: string;
  localUser: string;
  /** the controller's host name, for the %l/%L tokens (default: os.hostname()) */
  localHost?: string;
}

const DEFAULT_USER_KNOWN_HOSTS = ['~/.ssh/known_hosts', '~/.ssh/known_hosts2'];
const DEFAULT_GLOBAL_KNOWN_HOSTS = ['/etc/ssh/ssh_known_hosts', '/etc/ssh/ssh_known_hosts2'];
const DEFAULT_IDENTITIES = ['~/.ssh/id_rsa', '~/.ssh/id_ecdsa', '~/.ssh/id_ecdsa_sk', '~/.ssh/id_ed25519', '~/.ssh/id_ed25519_sk', '~/.ssh/id_xmss', '~/.ssh/id_dsa'];
const REFUSED: Record<string, string> = {
  proxycommand: 'ProxyCommand is not supported: use ProxyJump',
  canonicalizehostname: 'CanonicalizeHostname is not supported: write the full name in HostName',
  remotecommand: 'RemoteCommand is not supported',
};

/** One config file's lines: keyword (lower case), arguments, position. */
interface Line { kw: string; args: string[]; pos: SourcePos }

const fileCache = new Map<string, Line[]>();

/** Split a config line as readconf.c's argv_split: whitespace, "double quotes", optional `=` after the keyword. */
function parseFile(file: string): Line[] {
  const hit = fileCache.get(file);
  if (hit) return hit;
  const out: Line[] = [];
  const text = readFileSync(file, 'utf8');
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.replace(/^\s+/, '');
    if (!line || line.startsWith('#')) return;
    const m = /^([^\s=]+)\s*(?:=\s*|\s+|$)(.*)$/.exec(line);
    if (!m) return;
    const args: string[] = [];
    let rest = m[2]!.trim();
    while (rest) {
      if (rest.startsWith('#')) break;
      if (rest.startsWith('"')) {
        const end = rest.indexOf('"', 1);
        if (end < 0) throw new SshConfigError('unterminated quote', { file, line: i + 1, col: raw.length - rest.length + 1 });
        args.push(rest.slice(1, end));
        rest = rest.slice(end + 1).trim();
      } else {
        const w = /^\S+/.exec(rest)![0];
        args.push(w);
        rest = rest.slice(w.length).trim();
      }
    }
    out.push({ kw: m[1]!.toLowerCase(), args, pos: { file, line: i + 1, col: raw.length - line.length + 1 } });
  });
  fileCache.set(file, out);
  return out;
}

/** OpenSSH's match_pattern: `*` and `?` wildcards. */
function globMatch(s: string, pat: string): boolean {
  const re = new RegExp(`^${pat.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's');
  return re.test(s);
}

/**
 * match_pattern_list: a negated match wins (false), else any positive match. `Host` lines compare the name
 * as typed (case matters); `Match host` lower-cases it (dolower), as OpenSSH does.
 */
export function matchPatternList(host: string, patterns: string[], dolower = false): boolean {
  const h = dolower ? host.toLowerCase() : host;
  let matched = false;
  for (const p0 of patterns) {
    const neg = p0.startsWith('!');
    const p = neg ? p0.slice(1) : p0;
    if (globMatch(h, p)) {
      if (neg) return false;
      matched = true;
    }
  }
  return matched;
}

function expandTilde(p: string, home: string): string {
  return p === '~' ? home : p.startsWith('~/') ? join(home, p.slice(2)) : p;
}

/** Glob (`*`, `?` in the last path components) for Include, sorted as glob(3) does. */
function globFiles(pattern: string): string[] {
  if (!/[*?[]/.test(pattern)) return existsSync(pattern) ? [pattern] : [];
  const parts = pattern.split('/');
  let bases = [parts[0] === '' ? '/' : '.'];
  for (const part of parts.slice(parts[0] === '' ? 1 : 0)) {
    const next: string[] = [];
    for (const b of bases) {
      if (!/[*?[]/.test(part)) { const p = join(b, part); if (existsSync(p)) next.push(p); continue; }
      let names: string[] = [];
      try { names = readdirSync(b); } catch { continue; }
      for (const n of names.sort()) if (!n.startsWith('.') && globMatch(n, part)) next.push(join(b, n));
    }
    bases = next;
  }
  return bases.filter((f) => { try { return statSync(f).isFile(); } catch { return false; } });
}

interface EvalState {
  host: string;
  set: Partial<SshSettings> & { identityFiles: string[]; from: SshSettings['from'] };
  ctx: SshConfigContext;
  refusals: SshConfigError[];
}

/** `system` is the directory relative Includes of the system file resolve against, or undefined in a user file. */
function evalFile(file: string, st: EvalState, system: string | undefined, startActive: boolean, neverMatch: boolean, depth: number): void {
  if (depth > 16) throw new SshConfigError('Include nested too deeply', { file, line: 1, col: 1 });
  let active = startActive;
  for (const l of parseFile(file)) {
    if (l.kw === 'host') {
      active = !neverMatch && matchPatternList(st.host, l.args);
      continue;
    }
    if (l.kw === 'match') {
      active = !neverMatch && evalMatch(l, st);
      continue;
    }
    if (l.kw === 'include') {
      if (!active) continue;
      for (const a of l.args) {
        const p = expandTilde(a, st.ctx.home);
        const pat = isAbsolute(p) ? p : join(system ?? join(st.ctx.home, '.ssh'), p);
        for (const f of globFiles(pat)) evalFile(f, st, system, active, neverMatch || !active, depth + 1);
      }
      continue;
    }
    if (!active) continue;
    apply(l, st);
  }
}

function evalMatch(l: Line, st: EvalState): boolean {
  const args = [...l.args];
  let result = true;
  while (args.length) {
    let crit = args.shift()!.toLowerCase();
    const neg = crit.startsWith('!');
    if (neg) crit = crit.slice(1);
    let r: boolean;
    if (crit === 'all') r = true;
    else if (crit === 'host' || crit === 'originalhost') {
      const v = args.shift();
      if (v === undefined) throw new SshConfigError(`Match ${crit} needs a pattern list`, l.pos, 'Match');
      const target = crit === 'host' && st.set.hostname ? st.set.hostname.replace(/%h/g, st.host) : st.host;
      r = matchPatternList(target, v.split(','), true);
    } else {
      throw new SshConfigError(`Match ${crit} is not supported: flanprov evaluates Match all, host and originalhost; write a Host block instead`, l.pos, 'Match');
    }
    if (neg ? r : !r) result = false;
  }
  return result;
}

const YES_NO: Record<string, boolean> = { yes: true, true: true, no: false, false: false };

function apply(l: Line, st: EvalState): void {
  const s = st.set;
  const first = l.args[0];
  const need = (): string => {
    if (first === undefined) throw new SshConfigError(`${l.kw} needs a value`, l.pos, l.kw);
    return first;
  };
  const mark = (k: SettingName): void => { s.from[k] ??= l.pos; };
  switch (l.kw) {
    case 'hostname':
      if (s.hostname === undefined) {
        const v = need();
        const bad = [...v.matchAll(/%(.?)/g)].find((m) => m[1] !== '%' && m[1] !== 'h');
        if (bad) throw new SshConfigError(`HostName: the token ${bad[0]} is not supported (only %h and %%)`, l.pos, 'HostName');
        s.hostname = v; mark('hostname');
      }
      break;
    case 'user': if (s.user === undefined) { s.user = need(); mark('user'); } break;
    case 'port': {
      const v = need();
      if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 65535) throw new SshConfigError(`Port: "${v}" is not a port number`, l.pos, 'Port');
      if (s.port === undefined) { s.port = Number(v); mark('port'); }
      break;
    }
    case 'identityfile': {
      const f = need();
      if (!s.identityFiles.includes(f)) s.identityFiles.push(f);
      mark('identityfile');
      break;
    }
    case 'identitiesonly': {
      const v = YES_NO[need().toLowerCase()];
      if (v === undefined) throw new SshConfigError(`IdentitiesOnly: "${first}" is not yes or no`, l.pos, 'IdentitiesOnly');
      if (s.identitiesOnly === undefined) { s.identitiesOnly = v; mark('identitiesonly'); }
      break;
    }
    case 'proxyjump': if (s.proxyJump === undefined) { s.proxyJump = need(); mark('proxyjump'); } break;
    case 'userknownhostsfile': if (s.userKnownHostsFiles === undefined) { need(); s.userKnownHostsFiles = l.args; mark('userknownhostsfile'); } break;
    case 'globalknownhostsfile': if (s.globalKnownHostsFiles === undefined) { need(); s.globalKnownHostsFiles = l.args; mark('globalknownhostsfile'); } break;
    case 'hostkeyalias': if (s.hostKeyAlias === undefined) { s.hostKeyAlias = need(); mark('hostkeyalias'); } break;
    case 'hashknownhosts': {
      const v = YES_NO[need().toLowerCase()];
      if (v === undefined) throw new SshConfigError(`HashKnownHosts: "${first}" is not yes or no`, l.pos, 'HashKnownHosts');
      if (s.hashKnownHosts === undefined) { s.hashKnownHosts = v; mark('hashknownhosts'); }
      break;
    }
    case 'stricthostkeychecking': {
      const v = need().toLowerCase();
      const m = ({ yes: 'yes', true: 'yes', no: 'no', false: 'no', off: 'no', ask: 'ask', 'accept-new': 'accept-new' } as const)[v as 'yes'];
      if (!m) throw new SshConfigError(`StrictHostKeyChecking: "${first}" is not yes, no, ask or accept-new`, l.pos, 'StrictHostKeyChecking');
      if (s.strictHostKeyChecking === undefined) { s.strictHostKeyChecking = m; mark('stricthostkeychecking'); }
      break;
    }
    case 'connecttimeout': {
      const v = need();
      if (v.toLowerCase() !== 'none' && !/^\d+$/.test(v)) throw new SshConfigError(`ConnectTimeout: "${v}" is not a number of seconds`, l.pos, 'ConnectTimeout');
      if (!('connectTimeoutSec' in s)) { s.connectTimeoutSec = v.toLowerCase() === 'none' ? undefined : Number(v); mark('connecttimeout'); }
      break;
    }
    default:
      if (REFUSED[l.kw] && !(l.kw === 'proxycommand' && first?.toLowerCase() === 'none') && !(l.kw === 'canonicalizehostname' && first?.toLowerCase() === 'no')) {
        st.refusals.push(new SshConfigError(REFUSED[l.kw]!, l.pos, l.kw));
      }
  }
}

/**
 * The files ssh reads without -F: ~/.ssh/config, then the system file (`systemFile`: /etc/ssh/ssh_config, a
 * fixture in tests, or null for none). Files that do not exist are left out, as ssh does.
 */
export function defaultConfigFiles(home: string, systemFile: string | null = SYSTEM_SSH_CONFIG): ConfigFile[] {
  const files: ConfigFile[] = [{ file: join(home, '.ssh', 'config'), system: false }];
  if (systemFile) files.push({ file: systemFile, system: true });
  return files.filter((f) => existsSync(f.file));
}

/**
 * The effective settings for destination `host` (the name ssh would be given). `files` are read in order
 * (first value wins); `over` are the command-line values, which come before them.
 */
export function resolveSshConfig(host: string, files: ConfigFile[], ctx: SshConfigContext, over: SshOverrides = {}): SshSettings {
  const st: EvalState = {
    host,
    ctx,
    refusals: [],
    set: {
      identityFiles: [...(over.identityFiles ?? [])],
      from: {},
      ...(over.hostname !== undefined ? { hostname: over.hostname } : {}),
      ...(over.user !== undefined ? { user: over.user } : {}),
      ...(over.port !== undefined ? { port: over.port } : {}),
      ...(over.identitiesOnly !== undefined ? { identitiesOnly: over.identitiesOnly } : {}),
      ...(over.proxyJump !== undefined ? { proxyJump: over.proxyJump } : {}),
      ...(over.userKnownHostsFiles !== undefined ? { userKnownHostsFiles: over.userKnownHostsFiles } : {}),
      ...(over.globalKnownHostsFiles !== undefined ? { globalKnownHostsFiles: over.globalKnownHostsFiles } : {}),
      ...(over.hostKeyAlias !== undefined ? { hostKeyAlias: over.hostKeyAlias } : {}),
      ...(over.hashKnownHosts !== undefined ? { hashKnownHosts: over.hashKnownHosts } : {}),
      ...(over.strictHostKeyChecking !== undefined ? { strictHostKeyChecking: over.strictHostKeyChecking } : {}),
      ...(over.connectTimeoutSec !== undefined ? { connectTimeoutSec: over.connectTimeoutSec } : {}),
    },
  };
  for (const f of files) evalFile(f.file, st, f.system ? dirname(f.file) : undefined, true, false, 0);
  if (st.refusals.length) throw st.refusals[0]!;
  const s = st.set;
  const out: SshSettings = {
    // ssh lower-cases the final host name
    hostname: (s.hostname ?? '%h').replace(/%%/g, '\0').replace(/%h/g, host).replace(/\0/g, '%').toLowerCase(),
    user: s.user ?? ctx.localUser,
    port: s.port ?? 22,
    identityFiles: s.identityFiles.length ? s.identityFiles : DEFAULT_IDENTITIES,
    identitiesOnly: s.identitiesOnly ?? false,
    ...(s.proxyJump !== undefined ? { proxyJump: s.proxyJump } : {}),
    userKnownHostsFiles: [],
    globalKnownHostsFiles: s.globalKnownHostsFiles ?? DEFAULT_GLOBAL_KNOWN_HOSTS,
    ...(s.hostKeyAlias !== undefined ? { hostKeyAlias: s.hostKeyAlias } : {}),
    hashKnownHosts: s.hashKnownHosts ?? false,
    strictHostKeyChecking: s.strictHostKeyChecking ?? 'ask',
    ...(s.connectTimeoutSec !== undefined ? { connectTimeoutSec: s.connectTimeoutSec } : {}),
    from: s.from,
  };
  // ssh expands ~ and the % tokens of UserKnownHostsFile once the other settings are final (ssh -G shows the result)
  out.userKnownHostsFiles = (s.userKnownHostsFiles ?? DEFAULT_USER_KNOWN_HOSTS)
    .map((f) => expandTokens(f, out, host, ctx, 'UserKnownHostsFile', s.from.userknownhostsfile));
  return out;
}

/**
 * ~ and the % tokens of a path setting, as ssh expands them (default_client_percent_expand): %% %d (home) %u (local
 * user) %h (HostName) %r (remote user) %n (the name given) %p (port) %k (HostKeyAlias, else the name given)
 * %l / %L (local host name, full / short) %i (local uid). Others (%C, %j, ${VAR}) are refused by name.
 */
function expandTokens(f: string, s: Pick<SshSettings, 'hostname' | 'user' | 'port' | 'hostKeyAlias'>, host: string, ctx: SshConfigContext,
  keyword: string, pos?: SourcePos): string {
  const local = ctx.localHost ?? hostname();
  return expandTilde(f, ctx.home).replace(/%(.?)/g, (m, c: string) => {
    switch (c) {
      case '%': return '%';
      case 'd': return ctx.home;
      case 'u': return ctx.localUser;
      case 'h': return s.hostname;
      case 'r': return s.user;
      case 'n': return host;
      case 'p': return String(s.port);
      case 'k': return s.hostKeyAlias ?? host;
      case 'l': return local;
      case 'L': return local.split('.')[0]!;
      case 'i': return String(process.getuid?.() ?? 0);
      default: throw new SshConfigError(`${keyword}: the token ${m} is not supported (use ~, %d, %u, %h, %r, %n, %p, %k, %l, %L, %i)`, pos ?? { file: '?', line: 0, col: 0 }, keyword);
    }
  });
}

/** IdentityFile tokens, as ssh expands them when it loads the key (ssh -G prints them unexpanded). */
export function expandIdentityFile(f: string, s: Pick<SshSettings, 'hostname' | 'user' | 'port' | 'hostKeyAlias'>, host: string, ctx: SshConfigContext, pos?: SourcePos): string {
  return expandTokens(f, s, host, ctx, 'IdentityFile', pos);
}
