/**
 * The CNI environment (SPEC.md "Parameters"): CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME,
 * CNI_ARGS, CNI_PATH, checked per command as the spec and libcni's skel check them: the variables a
 * command needs must be set (one error naming every missing one), a container ID starts with an
 * alphanumeric and continues with alphanumerics, `_`, `.` or `-`, an interface name is a valid Linux
 * name. Violations are error 4, as the spec asks.
 */
import { CNI_COMMANDS, CniError, CniErrorCode, type CniCommand } from './spec.js';

export interface CniEnv {
  command: CniCommand;
  containerId: string;
  /** empty for VERSION, and allowed to be empty for DEL (the netns may be gone) */
  netns: string;
  ifname: string;
  /** CNI_ARGS as given ("K=V;K2=V2"), passed on to the delegate unchanged */
  args: string;
  /** CNI_PATH split on ':' (empty entries dropped) */
  path: string[];
}

type Var = 'CNI_CONTAINERID' | 'CNI_NETNS' | 'CNI_IFNAME' | 'CNI_PATH';

/** Which variables each command needs (skel's table; CNI_ARGS is always optional). */
const REQUIRED: Record<CniCommand, readonly Var[]> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH'],
  VERSION: [],
};

const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Why `name` is not a usable Linux interface name, or undefined. */
export function interfaceNameProblem(name: string): string | undefined {
  if (name === '') return 'interface name is empty';
  if (name.length > 15) return `interface name is too long (${name.length} characters, at most 15)`;
  if (name === '.' || name === '..') return 'interface name is . or ..';
  if (/[/:\s]/.test(name)) return 'interface name contains / or : or whitespace characters';
  return undefined;
}

export function parseCniEnv(env: NodeJS.ProcessEnv): CniEnv {
  const raw = env.CNI_COMMAND;
  if (raw === undefined || raw === '') throw new CniError(CniErrorCode.INVALID_ENVIRONMENT, 'required env variables [CNI_COMMAND] missing');
  if (!(CNI_COMMANDS as readonly string[]).includes(raw)) throw new CniError(CniErrorCode.INVALID_ENVIRONMENT, `unknown CNI_COMMAND: ${raw}`, `expected one of ${CNI_COMMANDS.join(', ')}`);
  const command = raw as CniCommand;
  const missing = REQUIRED[command].filter((k) => !env[k]);
  if (missing.length) throw new CniError(CniErrorCode.INVALID_ENVIRONMENT, `required env variables [${missing.join(',')}] missing`);
  const out: CniEnv = {
    command,
    containerId: env.CNI_CONTAINERID ?? '',
    netns: env.CNI_NETNS ?? '',
    ifname: env.CNI_IFNAME ?? '',
    args: env.CNI_ARGS ?? '',
    path: (env.CNI_PATH ?? '').split(':').filter(Boolean),
  };
  if (command === 'VERSION') return out;
  if (!CONTAINER_ID.test(out.containerId)) {
    throw new CniError(CniErrorCode.INVALID_ENVIRONMENT, 'invalid characters in CNI_CONTAINERID', `${JSON.stringify(out.containerId)}: must start with a letter or digit, then letters, digits, _ . -`);
  }
  const bad = interfaceNameProblem(out.ifname);
  if (bad) throw new CniError(CniErrorCode.INVALID_ENVIRONMENT, `invalid CNI_IFNAME: ${bad}`, JSON.stringify(out.ifname));
  if (!out.path.length) throw new CniError(CniErrorCode.INVALID_ENVIRONMENT, 'required env variables [CNI_PATH] missing', 'CNI_PATH names no directory');
  return out;
}
