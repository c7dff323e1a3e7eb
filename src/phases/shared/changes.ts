/**
 * Change detection: which files must be written, and what must be reloaded or restarted because of it
 * (Ansible's handlers, decided up front from sha256s instead of notified). Pure functions over the
 * desired files and the host's facts.
 */
import { createHash } from 'node:crypto';
import type { RemoteFile } from './facts.js';
import type { PreviousSubnetEnv } from '../../network/subnet-env.js';
import { firstHost, formatIpv4 } from '../../network/ipv4.js';

/** What a file is for; decides what a change to it restarts. */
export type FileRole = 'agent-unit' | 'docker-dropin' | 'agent-env' | 'agent-tls' | 'other';

export interface DesiredFile {
  path: string;
  content: string;
  mode: number;
  role: FileRole;
}

export function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface FilePlan {
  write: DesiredFile[];
  unchanged: DesiredFile[];
}

/** A file is written when it is absent, its content differs, or its mode differs. */
export function planFiles(desired: readonly DesiredFile[], remote: ReadonlyMap<string, RemoteFile>): FilePlan {
  const write: DesiredFile[] = [];
  const unchanged: DesiredFile[] = [];
  for (const d of desired) {
    const r = remote.get(d.path);
    if (!r || r.sha256 !== sha256(d.content) || r.mode !== d.mode) write.push(d);
    else unchanged.push(d);
  }
  return { write, unchanged };
}

export interface StartPlan {
  daemonReload: boolean;
  enableAgent: boolean;
  /** restart (or start) flanneld, with the reason */
  restartAgent?: string;
  /** the Docker drop-in changed: Docker must restart once the agent is ready */
  dockerDropInChanged: boolean;
}

export interface StartInput {
  written: readonly DesiredFile[];
  binaryChanged: boolean;
  agent: { active: string; unitFileState?: string } | undefined;
}

export function planStart(inp: StartInput): StartPlan {
  const roles = new Set(inp.written.map((f) => f.role));
  const reasons: string[] = [];
  if (inp.binaryChanged) reasons.push('binary changed');
  if (roles.has('agent-unit')) reasons.push('unit changed');
  if (roles.has('agent-env') || roles.has('agent-tls')) reasons.push('environment/TLS files changed');
  if (!reasons.length && inp.agent?.active !== 'active') reasons.push(`agent ${inp.agent?.active ?? 'not installed'}`);
  const plan: StartPlan = {
    daemonReload: roles.has('agent-unit') || roles.has('docker-dropin'),
    enableAgent: inp.agent?.unitFileState !== 'enabled',
    dockerDropInChanged: roles.has('docker-dropin'),
  };
  if (reasons.length) plan.restartAgent = reasons.join(', ');
  return plan;
}

/** `--flag=value` or `--flag value` from a command line. */
export function flagValue(cmdline: string, flag: string): string | undefined {
  const toks = cmdline.split(/\s+/);
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    if (t.startsWith(flag + '=')) return t.slice(flag.length + 1);
    if (t === flag) return toks[i + 1];
  }
  return undefined;
}

export interface DockerNow {
  active: boolean;
  /** the running dockerd's command line (/proc/<MainPID>/cmdline) */
  cmdline?: string;
  /** docker0's IPv4 address "a.b.c.d/len" */
  bridgeAddr?: string;
}

/**
 * Why Docker must restart, or undefined: its drop-in changed, or the running dockerd / docker0 do not carry
 * the subnet and MTU flannel wrote to subnet.env (e.g. the agent got a new lease or a new MTU).
 */
export function dockerRestartReason(dropInChanged: boolean, subnetEnv: PreviousSubnetEnv | undefined, docker: DockerNow): string | undefined {
  if (dropInChanged) return 'drop-in changed';
  if (!docker.active) return 'docker not running';
  if (!subnetEnv?.subnet) return undefined;
  const want = `${formatIpv4(firstHost(subnetEnv.subnet))}/${subnetEnv.subnet.prefixLen}`;
  if (docker.bridgeAddr !== want) return `docker0 is ${docker.bridgeAddr ?? 'unaddressed'}, subnet.env says ${want}`;
  if (docker.cmdline !== undefined) {
    const bip = flagValue(docker.cmdline, '--bip');
    if (bip !== want) return `dockerd runs with --bip=${bip ?? '(none)'}, subnet.env says ${want}`;
    const mtu = flagValue(docker.cmdline, '--mtu');
    if (subnetEnv.mtu !== undefined && mtu !== String(subnetEnv.mtu)) return `dockerd runs with --mtu=${mtu ?? '(none)'}, subnet.env says ${subnetEnv.mtu}`;
  }
  return undefined;
}
