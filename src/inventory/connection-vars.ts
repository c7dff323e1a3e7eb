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
import { parseSshArgs, resolveJumps, SshArgsError, type SshArgs } from './ssh-args.js';
import type { ConnectionSpec } from './types.js';

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
  const user = (effectiveVar(vars, 'user') as string | undefined) ?? args.user ?? o.localUser;
  const keyFile = (effectiveVar(vars, 'keyFile') as string | undefined) ?? args.identityFile;
  const identityFiles = keyFile
    ? [expandPath(keyFile, o.home, o.baseDir)]
    : ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((f) => resolve(o.home, '.ssh', f)).filter((f) => existsSync(f));
  // A missing key file is reported when connecting (render and --dry-run planning need no key).
  const become = v<boolean>('ansible_become') ?? false;
  const pw = v<string>('ansible_become_password') ?? v<string>('ansible_become_pass') ?? v<string>('ansible_sudo_pass') ?? o.env.FLANPROV_BECOME_PASSWORD;
  const hkc = effectiveVar(vars, 'hostKeyChecking') as boolean | undefined;
  const timeout = effectiveVar(vars, 'timeout') as number | undefined;
  const conn: ConnectionSpec = {
    transport: v<string>('ansible_connection') === 'local' ? 'local' : 'ssh',
    host: (effectiveVar(vars, 'host') as string | undefined) ?? name,
    port: (effectiveVar(vars, 'port') as number | undefined) ?? args.port ?? 22,
    user,
    identityFiles,
    identityExplicit: !!keyFile,
    useAgent: !!o.env.SSH_AUTH_SOCK,
    identitiesOnly: false,
    knownHostsFile: args.knownHostsFile ? (args.knownHostsFile === '/dev/null' ? '/dev/null' : expandPath(args.knownHostsFile, o.home, o.baseDir)) : resolve(o.home, '.ssh', 'known_hosts'),
    strictHostKeyChecking: hkc === false ? 'no' : args.strictHostKeyChecking ?? 'yes',
    proxyJump: resolveJumps(args.proxyJump, user),
    connectTimeoutMs: timeout !== undefined ? timeout * 1000 : args.connectTimeoutSec ? args.connectTimeoutSec * 1000 : DEFAULT_CONNECT_TIMEOUT_MS,
    become,
    becomeUser: v<string>('ansible_become_user') ?? 'root',
  };
  const password = effectiveVar(vars, 'password') as string | undefined;
  if (password !== undefined && password !== '') conn.password = password;
  if (become && pw) conn.becomePassword = pw;
  return conn;
}
