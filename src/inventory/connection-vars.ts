/**
 * How to reach a host, from its (merged, templated) variables, the way Ansible's ssh connection builds its
 * `ssh` command line:
 * - the legacy names win over the new ones when both are set (Ansible's MAGIC_VARIABLE_MAPPING):
 *   ansible_ssh_host > ansible_host, ansible_ssh_port > ansible_port, ansible_ssh_user > ansible_user,
 *   ansible_ssh_pass > ansible_password, ansible_ssh_private_key_file > ansible_private_key_file;
 * - inventory variables become `-o` options placed before ansible_ssh_common_args and ansible_ssh_extra_args,
 *   and OpenSSH takes the first value it sees: inventory variables > common args > extra args > ssh_config;
 * - `ansible_connection: local` runs the host's steps on this machine, without SSH.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { VarDef } from './model.js';
import type { IssueList } from './errors.js';
import { expandPath } from './paths.js';
import { parseJumpSpec, parseSshArgs, SshArgsError, type SshArgs } from './ssh-args.js';
import type { ConnectionSpec, JumpHost } from './types.js';
import {
  defaultConfigFiles, expandIdentityFile, resolveSshConfig, SshConfigError, type SshOverrides, type SshSettings,
} from './ssh-config.js';

/** Connection variables flanprov reads, in every spelling Ansible accepts. */
export const CONNECTION_VARS = [
  'ansible_connection', 'ansible_host', 'ansible_ssh_host', 'ansible_port', 'ansible_ssh_port', 'ansible_user', 'ansible_ssh_user',
  'ansible_ssh_private_key_file', 'ansible_private_key_file', 'ansible_ssh_common_args', 'ansible_ssh_extra_args',
  'ansible_password', 'ansible_ssh_pass', 'ansible_ssh_password', 'ansible_ssh_timeout', 'ansible_timeout',
  'ansible_host_key_checking', 'ansible_ssh_host_key_checking',
];

/** Variables that hold a secret: only `{{ lookup('env', 'VAR') }}` is accepted, never a literal. */
export const SECRET_VARS = [
  'ansible_become_password', 'ansible_become_pass', 'ansible_sudo_pass', 'flannel_etcd_password',
  'ansible_password', 'ansible_ssh_pass', 'ansible_ssh_password',
];

/** Each setting's variables, the winning one first (Ansible: the ssh_ spelling beats the plain one). */
const SPELLINGS = {
  host: ['ansible_ssh_host', 'ansible_host'],
  port: ['ansible_ssh_port', 'ansible_port'],
  user: ['ansible_ssh_user', 'ansible_user'],
  password: ['ansible_ssh_password', 'ansible_ssh_pass', 'ansible_password'],
  keyFile: ['ansible_ssh_private_key_file', 'ansible_private_key_file'],
  timeout: ['ansible_ssh_timeout', 'ansible_timeout'],
  hostKeyChecking: ['ansible_ssh_host_key_checking', 'ansible_host_key_checking'],
} as const;

export type ConnectionSetting = keyof typeof SPELLINGS;

/** The value of a connection setting under whichever name wins. */
export function effectiveVar(vars: Map<string, VarDef>, setting: ConnectionSetting): unknown {
  for (const k of SPELLINGS[setting]) {
    const d = vars.get(k);
    if (d && d.value !== null && d.value !== undefined) return d.value;
  }
  return undefined;
}

export interface ConnectionContext {
  env: NodeJS.ProcessEnv;
  home: string;
  baseDir: string;
  localUser: string;
  /** `-F FILE` from the command line */
  sshConfigFile?: string;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

function jumpText(j: { host: string; port?: number; user?: string }): string {
  const h = j.host.includes(':') ? `[${j.host}]` : j.host;
  return `${j.user ? `${j.user}@` : ''}${h}${j.port ? `:${j.port}` : ''}`;
}

/**
 * Key files to offer, IdentityFile tokens expanded: the inventory's key (must exist) then the config's, or
 * OpenSSH's defaults; files that do not exist are skipped, as ssh does.
 */
function keyedFiles(s: SshSettings, dest: string, ctx: { home: string; localUser: string }, firstIsExplicit: boolean): string[] {
  return s.identityFiles
    .map((f, i) => ({ f: expandIdentityFile(f, s, dest, ctx, s.from.identityfile), keep: firstIsExplicit && i === 0 }))
    .filter((x) => x.keep || existsSync(x.f))
    .map((x) => x.f);
}

/** ProxyJump hops, each one's HostName/User/Port/IdentityFile from ssh_config as ssh -J would read them. */
function jumpChain(s: SshSettings, files: { file: string; system: boolean }[], ctx: { home: string; localUser: string }): JumpHost[] {
  if (!s.proxyJump || s.proxyJump.toLowerCase() === 'none') return [];
  return s.proxyJump.split(',').map((spec) => {
    const j = parseJumpSpec(spec);
    const over: SshOverrides = {};
    if (j.user !== undefined) over.user = j.user;
    if (j.port !== undefined) over.port = j.port;
    const js = resolveSshConfig(j.host, files, ctx, over);
    const hop: JumpHost = { host: js.hostname, port: js.port, user: js.user };
    if (js.from.identityfile) hop.identityFiles = keyedFiles(js, j.host, ctx, false);
    return hop;
  });
}

export function connectionFor(name: string, vars: Map<string, VarDef>, o: ConnectionContext, issues: IssueList): ConnectionSpec {
  const v = <T>(k: string): T | undefined => vars.get(k)?.value as T | undefined;
  const args: SshArgs = { ignored: [] };
  for (const k of ['ansible_ssh_common_args', 'ansible_ssh_extra_args']) {
    const text = v<string>(k);
    if (!text) continue;
    try {
      const a = parseSshArgs(text);
      // First value wins, as in OpenSSH; common args come before extra args on Ansible's command line.
      for (const f of Object.keys(a) as (keyof SshArgs)[]) {
        if (f === 'ignored') args.ignored.push(...a.ignored);
        else if (args[f] === undefined) (args as unknown as Record<string, unknown>)[f] = a[f];
      }
    } catch (e) {
      if (e instanceof SshArgsError) issues.add(k, e.message, vars.get(k)!.pos);
      else throw e;
    }
  }
  // OpenSSH takes the first value it sees: inventory variables (Ansible's own -o options), then the common
  // and extra args, then the ssh_config files.
  const invUser = effectiveVar(vars, 'user') as string | undefined;
  const invPort = effectiveVar(vars, 'port') as number | undefined;
  const keyFile = (effectiveVar(vars, 'keyFile') as string | undefined) ?? args.identityFile;
  const hkc = effectiveVar(vars, 'hostKeyChecking') as boolean | undefined;
  const timeout = effectiveVar(vars, 'timeout') as number | undefined;
  const dest = (effectiveVar(vars, 'host') as string | undefined) ?? name;
  const over: SshOverrides = {};
  const u = invUser ?? args.user; if (u !== undefined) over.user = u;
  const p = invPort ?? args.port; if (p !== undefined) over.port = p;
  if (keyFile) over.identityFiles = [expandPath(keyFile, o.home, o.baseDir)];
  if (args.hostName !== undefined) over.hostname = args.hostName;
  if (args.identitiesOnly !== undefined) over.identitiesOnly = args.identitiesOnly;
  if (args.proxyJump !== undefined) over.proxyJump = args.proxyJump.length ? args.proxyJump.map(jumpText).join(',') : 'none';
  if (args.knownHostsFile) over.userKnownHostsFiles = [args.knownHostsFile === '/dev/null' ? '/dev/null' : expandPath(args.knownHostsFile, o.home, o.baseDir)];
  const strict = hkc === false ? 'no' : args.strictHostKeyChecking;
  if (strict !== undefined) over.strictHostKeyChecking = strict;
  const t = timeout ?? args.connectTimeoutSec; if (t !== undefined) over.connectTimeoutSec = t;
  const cfgFile = args.configFile ? expandPath(args.configFile, o.home, o.baseDir) : o.sshConfigFile;
  const files = cfgFile ? [{ file: cfgFile, system: false }] : defaultConfigFiles(o.home);
  const sctx = { home: o.home, localUser: o.localUser };
  let s: SshSettings;
  let jumps: JumpHost[] = [];
  try {
    if (cfgFile && !existsSync(cfgFile)) throw new SshConfigError(`ssh config file not found: ${cfgFile}`, { file: cfgFile, line: 1, col: 1 }, '-F');
    s = resolveSshConfig(dest, files, sctx, over);
    jumps = jumpChain(s, files, sctx);
  } catch (e) {
    if (!(e instanceof SshConfigError || e instanceof SshArgsError)) throw e;
    const at = e instanceof SshConfigError ? e.pos : vars.get('ansible_ssh_common_args')?.pos;
    issues.add(e instanceof SshConfigError ? e.keyword : 'ansible_ssh_common_args', e.message, at);
    s = resolveSshConfig(dest, [], sctx, over);
  }
  const named = s.from.identityfile !== undefined || !!keyFile;
  const identityFiles = keyedFiles(s, dest, sctx, !!keyFile);
  const become = v<boolean>('ansible_become') ?? false;
  const pw = v<string>('ansible_become_password') ?? v<string>('ansible_become_pass') ?? v<string>('ansible_sudo_pass') ?? o.env.FLANPROV_BECOME_PASSWORD;
  const conn: ConnectionSpec = {
    transport: v<string>('ansible_connection') === 'local' ? 'local' : 'ssh',
    host: s.hostname,
    port: s.port,
    user: s.user,
    identityFiles,
    identityExplicit: !!keyFile,
    useAgent: !!o.env.SSH_AUTH_SOCK,
    identitiesOnly: s.identitiesOnly && named,
    knownHostsFile: s.userKnownHostsFiles[0] ?? resolve(o.home, '.ssh', 'known_hosts'),
    strictHostKeyChecking: s.strictHostKeyChecking === 'ask' ? 'yes' : s.strictHostKeyChecking,
    proxyJump: jumps,
    connectTimeoutMs: s.connectTimeoutSec !== undefined ? s.connectTimeoutSec * 1000 : DEFAULT_CONNECT_TIMEOUT_MS,
    become,
    becomeUser: v<string>('ansible_become_user') ?? 'root',
  };
  const password = effectiveVar(vars, 'password') as string | undefined;
  if (password !== undefined && password !== '') conn.password = password;
  if (become && pw) conn.becomePassword = pw;
  return conn;
}
