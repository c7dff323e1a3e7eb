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
import type { VarDef } from './model.js';
import type { IssueList } from './errors.js';
import { expandPath } from './paths.js';
import { parseJumpSpec, parseSshArgs, SshArgsError, type SshArgs } from './ssh-args.js';
import type { ConnectionSpec, JumpHost } from './types.js';
import {
  defaultConfigFiles, expandIdentityFile, resolveSshConfig, SshConfigError, SYSTEM_SSH_CONFIG,
  type ConfigFile, type SshOverrides, type SshSettings,
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
  /** the system-wide ssh_config read after ~/.ssh/config (default /etc/ssh/ssh_config; null: none) */
  systemSshConfig?: string | null;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** a ProxyJump chain longer than this is a loop in the configuration */
const MAX_JUMP_DEPTH = 16;

function jumpText(j: { host: string; port?: number; user?: string }): string {
  const h = j.host.includes(':') ? `[${j.host}]` : j.host;
  return `${j.user ? `${j.user}@` : ''}${h}${j.port ? `:${j.port}` : ''}`;
}

type Ctx = { home: string; localUser: string };

/**
 * Key files to offer, IdentityFile tokens expanded: the inventory's key (must exist) then the config's, or
 * OpenSSH's defaults; files that do not exist are skipped, as ssh does.
 */
function keyedFiles(s: SshSettings, dest: string, ctx: Ctx, firstIsExplicit: boolean): string[] {
  return s.identityFiles
    .map((f, i) => ({ f: expandIdentityFile(f, s, dest, ctx, s.from.identityfile), keep: firstIsExplicit && i === 0 }))
    .filter((x) => x.keep || existsSync(x.f))
    .map((x) => x.f);
}

/** The host-key settings of a hop: the first UserKnownHostsFile is written, the rest and the global files only read. */
function hostKeySettings(s: SshSettings): Pick<ConnectionSpec, 'knownHostsFile' | 'knownHostsAlso' | 'hostKeyAlias' | 'hashKnownHosts' | 'strictHostKeyChecking'> {
  // `none` (as ssh -G prints it): no file of that kind
  const files = (l: string[]): string[] => l.filter((f) => f.toLowerCase() !== 'none');
  const [first, ...rest] = files(s.userKnownHostsFiles);
  return {
    knownHostsFile: first ?? '/dev/null',
    knownHostsAlso: [...rest, ...files(s.globalKnownHostsFiles)],
    ...(s.hostKeyAlias !== undefined ? { hostKeyAlias: s.hostKeyAlias } : {}),
    hashKnownHosts: s.hashKnownHosts,
    strictHostKeyChecking: s.strictHostKeyChecking === 'ask' ? 'yes' : s.strictHostKeyChecking,
  };
}

/**
 * The ProxyJump chain, first hop first, as `ssh -J a,b,c` builds it: c is reached with `-J a,b` on the command
 * line, b with `-J a`, and only a is connected without -J, so only a's own ssh_config ProxyJump is followed
 * (recursively). Each hop's HostName, User, Port, keys and host-key settings come from its own ssh_config
 * entry (the spec's user and port as -l/-p); the target's command-line options do not apply to it. A chain
 * that comes back to a host it is already reaching is a loop, which ssh would follow forever: refused.
 */
function jumpChain(proxyJump: string | undefined, at: SshSettings['from']['proxyjump'], files: ConfigFile[], ctx: Ctx,
  targetKey: string | undefined, path: string[]): JumpHost[] {
  if (!proxyJump || proxyJump.toLowerCase() === 'none') return [];
  const specs = proxyJump.split(',').map(parseJumpSpec);
  const firstName = specs[0]!.host;
  if (path.includes(firstName) || path.length > MAX_JUMP_DEPTH) {
    throw new SshConfigError(`ProxyJump loop: ${[...path, firstName].join(' -> ')} (ssh would follow it forever); write "ProxyJump none" in the jump host's Host block, or exclude it from the pattern (Host * !${firstName})`,
      at ?? { file: '?', line: 0, col: 0 }, 'ProxyJump');
  }
  const settings = specs.map((j) => {
    const over: SshOverrides = {};
    if (j.user !== undefined) over.user = j.user;
    if (j.port !== undefined) over.port = j.port;
    return { j, s: resolveSshConfig(j.host, files, ctx, over) };
  });
  const hops = settings.map(({ j, s: js }): JumpHost => {
    const own = keyedFiles(js, j.host, ctx, false);
    return {
      host: js.hostname, port: js.port, user: js.user,
      identityFiles: targetKey && !own.includes(targetKey) ? [...own, targetKey] : own,
      identitiesOnly: js.identitiesOnly && js.from.identityfile !== undefined,
      ...hostKeySettings(js),
      connectTimeoutMs: js.connectTimeoutSec !== undefined ? js.connectTimeoutSec * 1000 : DEFAULT_CONNECT_TIMEOUT_MS,
    };
  });
  const first = settings[0]!.s;
  return [...jumpChain(first.proxyJump, first.from.proxyjump, files, ctx, targetKey, [...path, firstName]), ...hops];
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
  if (args.knownHostsFiles?.length) over.userKnownHostsFiles = args.knownHostsFiles.map((f) => (f === '/dev/null' ? f : expandPath(f, o.home, o.baseDir)));
  if (args.globalKnownHostsFiles?.length) over.globalKnownHostsFiles = args.globalKnownHostsFiles;
  if (args.hostKeyAlias !== undefined) over.hostKeyAlias = args.hostKeyAlias;
  if (args.hashKnownHosts !== undefined) over.hashKnownHosts = args.hashKnownHosts;
  const strict = hkc === false ? 'no' : args.strictHostKeyChecking;
  if (strict !== undefined) over.strictHostKeyChecking = strict;
  const t = timeout ?? args.connectTimeoutSec; if (t !== undefined) over.connectTimeoutSec = t;
  const cfgFile = args.configFile ? expandPath(args.configFile, o.home, o.baseDir) : o.sshConfigFile;
  const files: ConfigFile[] = cfgFile ? [{ file: cfgFile, system: false }] : defaultConfigFiles(o.home, o.systemSshConfig === undefined ? SYSTEM_SSH_CONFIG : o.systemSshConfig);
  const sctx = { home: o.home, localUser: o.localUser };
  let s: SshSettings;
  let jumps: JumpHost[] = [];
  try {
    if (cfgFile && !existsSync(cfgFile)) throw new SshConfigError(`ssh config file not found: ${cfgFile}`, { file: cfgFile, line: 1, col: 1 }, '-F');
    s = resolveSshConfig(dest, files, sctx, over);
    const targetKey = keyFile ? over.identityFiles![0] : undefined;
    jumps = jumpChain(s.proxyJump, s.from.proxyjump, files, sctx, targetKey, [dest]);
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
    ...hostKeySettings(s),
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
