/**
 * The subset of OpenSSH command-line options flanprov honours in ansible_ssh_common_args /
 * ansible_ssh_extra_args: `-o Key=Value` (or `-o Key Value`, `-oKey=Value`) for ProxyJump, Port, User, HostName,
 * IdentityFile, IdentitiesOnly, UserKnownHostsFile and GlobalKnownHostsFile (several files each), HostKeyAlias,
 * HashKnownHosts, StrictHostKeyChecking, ConnectTimeout; `-J`, `-i`, `-p`, `-l`, `-F`.
 * Options that only tune OpenSSH itself (ControlMaster, ServerAliveInterval, ...) are ignored;
 * ProxyCommand is refused (use ProxyJump). As in OpenSSH, the first value given for an option wins.
 */
import type { StrictHostKeyChecking } from './types.js';

export interface SshArgs {
  proxyJump?: { host: string; port?: number; user?: string }[];
  port?: number;
  user?: string;
  identityFile?: string;
  /** -o UserKnownHostsFile="a b": every file is read, the first is written */
  knownHostsFiles?: string[];
  globalKnownHostsFiles?: string[];
  hostKeyAlias?: string;
  hashKnownHosts?: boolean;
  strictHostKeyChecking?: StrictHostKeyChecking;
  connectTimeoutSec?: number;
  /** -F FILE: the ssh_config file to read instead of ~/.ssh/config */
  configFile?: string;
  /** -o IdentitiesOnly=yes|no */
  identitiesOnly?: boolean;
  /** -o HostName=... */
  hostName?: string;
  /** options seen but not used (for -v) */
  ignored: string[];
}

export class SshArgsError extends Error {}

/** Split a command-line string as a POSIX shell would (quotes and backslashes; no expansions). */
export function shellSplit(s: string): string[] {
  const out: string[] = [];
  let cur = '';
  let inWord = false;
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) throw new SshArgsError('unterminated single quote');
      cur += s.slice(i + 1, end); inWord = true; i = end + 1;
    } else if (c === '"') {
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length && '"\\$`'.includes(s[i + 1]!)) i++;
        cur += s[i]; i++;
      }
      if (i >= s.length) throw new SshArgsError('unterminated double quote');
      inWord = true; i++;
    } else if (c === '\\' && i + 1 < s.length) {
      cur += s[i + 1]; inWord = true; i += 2;
    } else if (/\s/.test(c)) {
      if (inWord) { out.push(cur); cur = ''; inWord = false; }
      i++;
    } else {
      cur += c; inWord = true; i++;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

/** Parse one `[user@]host[:port]` (IPv6 as `[addr]:port`) jump spec. */
export function parseJumpSpec(spec: string): { host: string; port?: number; user?: string } {
  let rest = spec.trim();
  if (rest.startsWith('ssh://')) rest = rest.slice(6);
  let user: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) { user = rest.slice(0, at); rest = rest.slice(at + 1); }
  let host = rest;
  let port: number | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(rest);
  if (v6) { host = v6[1]!; if (v6[2]) port = Number(v6[2]); } else {
    const m = /^([^:]+):(\d+)$/.exec(rest);
    if (m) { host = m[1]!; port = Number(m[2]); } else if (rest.includes(':')) throw new SshArgsError(`bad jump host "${spec}" (expected [user@]host[:port])`);
  }
  if (!host) throw new SshArgsError(`bad jump host "${spec}" (no host name)`);
  if (port !== undefined && (port < 1 || port > 65535)) throw new SshArgsError(`bad port in jump host "${spec}"`);
  if (user === '') throw new SshArgsError(`bad jump host "${spec}" (empty user)`);
  return { host, ...(port !== undefined ? { port } : {}), ...(user !== undefined ? { user } : {}) };
}

function parseProxyJump(v: string): SshArgs['proxyJump'] {
  if (v.toLowerCase() === 'none') return [];
  return v.split(',').map(parseJumpSpec);
}

const STRICT: Record<string, StrictHostKeyChecking> = { yes: 'yes', ask: 'yes', 'accept-new': 'accept-new', no: 'no', off: 'no' };

function port(v: string, what: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 65535) throw new SshArgsError(`${what}: "${v}" is not a port number`);
  return n;
}

function yesNo(what: string, v: string): boolean {
  const b = ({ yes: true, true: true, no: false, false: false } as Record<string, boolean>)[v.toLowerCase()];
  if (b === undefined) throw new SshArgsError(`${what}: "${v}" is not yes or no`);
  return b;
}

/** Parse ssh command-line arguments. Throws SshArgsError with a one-line reason. */
export function parseSshArgs(text: string): SshArgs {
  const argv = shellSplit(text);
  const out: SshArgs = { ignored: [] };
  const setOpt = (rawKey: string, value: string): void => {
    const key = rawKey.toLowerCase();
    switch (key) {
      case 'proxyjump': out.proxyJump ??= parseProxyJump(value); break;
      case 'port': out.port ??= port(value, 'Port'); break;
      case 'user': out.user ??= value; break;
      case 'identityfile': out.identityFile ??= value; break;
      case 'userknownhostsfile': out.knownHostsFiles ??= value.split(/\s+/).filter(Boolean); break;
      case 'globalknownhostsfile': out.globalKnownHostsFiles ??= value.split(/\s+/).filter(Boolean); break;
      case 'hostkeyalias': out.hostKeyAlias ??= value; break;
      case 'hashknownhosts': out.hashKnownHosts ??= yesNo('HashKnownHosts', value); break;
      case 'stricthostkeychecking': {
        const s = STRICT[value.toLowerCase()];
        if (!s) throw new SshArgsError(`StrictHostKeyChecking: "${value}" is not yes, no, accept-new or ask`);
        out.strictHostKeyChecking ??= s;
        break;
      }
      case 'connecttimeout': {
        if (!/^\d+$/.test(value)) throw new SshArgsError(`ConnectTimeout: "${value}" is not a number of seconds`);
        out.connectTimeoutSec ??= Number(value);
        break;
      }
      case 'identitiesonly': out.identitiesOnly ??= yesNo('IdentitiesOnly', value); break;
      case 'hostname': out.hostName ??= value; break;
      case 'proxycommand':
        throw new SshArgsError('ProxyCommand is not supported: use -o ProxyJump=user@host:port (or -J)');
      default: out.ignored.push(`-o ${rawKey}=${value}`);
    }
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new SshArgsError(`${a} needs a value`);
      return v;
    };
    const flagValue = (flag: string): string => (a.length > 2 ? a.slice(2) : next());
    if (a.startsWith('-o')) {
      const opt = a.length > 2 ? a.slice(2) : next();
      const m = /^([A-Za-z]+)\s*(?:=\s*|\s+)(.*)$/.exec(opt);
      if (m) setOpt(m[1]!, m[2]!.trim());
      else if (/^[A-Za-z]+$/.test(opt) && argv[i + 1] !== undefined) setOpt(opt, next());
      else throw new SshArgsError(`bad option "-o ${opt}" (expected -o Key=Value)`);
    } else if (a.startsWith('-J')) setOpt('ProxyJump', flagValue('-J'));
    else if (a.startsWith('-i')) setOpt('IdentityFile', flagValue('-i'));
    else if (a.startsWith('-p')) setOpt('Port', flagValue('-p'));
    else if (a.startsWith('-l')) setOpt('User', flagValue('-l'));
    else if (a.startsWith('-F')) out.configFile ??= flagValue('-F');
    else if (/^-[46AaCfGgKkMNnqsTtVvXxYy]+$/.test(a)) out.ignored.push(a);
    else if (/^-[BbcDEeIiLmOQRSWw]$/.test(a)) { out.ignored.push(`${a} ${next()}`); }
    else throw new SshArgsError(`unsupported ssh argument "${a}"`);
  }
  return out;
}
