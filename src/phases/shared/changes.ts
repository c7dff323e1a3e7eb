/**
 * Change detection: which files must be written, and what must be reloaded or restarted because of it
 * (Ansible's handlers, decided up front from sha256s instead of notified). Pure functions over the
 * desired files and the host's facts.
 */
import { sha256Of } from '../../remote/upload.js';
import type { RemoteFile } from './facts.js';
import type { PreviousSubnetEnv } from '../../network/subnet-env.js';
import { firstHost, formatIpv4 } from '../../network/ipv4.js';

/** What a file is for; decides what a change to it restarts. */
export type FileRole = 'agent-unit' | 'docker-dropin' | 'cni-conf' | 'agent-env' | 'agent-tls' | 'etcd-unit' | 'etcd-tls' | 'etcd-bootstrap' | 'other';

export interface DesiredFile {
  path: string;
  content: string;
  mode: number;
  role: FileRole;
  /** user (and group of the same name) that owns it; default: root */
  owner?: string;
  /** written, but what uses it keeps running (e.g. only the agent's etcd endpoint list grew: endpointsOnlyChange) */
  keepsRunning?: boolean;
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
    if (!r || r.sha256 !== sha256Of(d.content) || r.mode !== d.mode || (r.owner !== undefined && r.owner !== (d.owner ?? 'root'))) write.push(d);
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
  if (inp.written.some((f) => f.role === 'agent-unit' && !f.keepsRunning)) reasons.push('unit changed');
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

const ENDPOINTS = /-etcd-endpoints=([^\s"]+)/;

/**
 * Whether two flanneld.service texts differ only in -etcd-endpoints, with a member of the old list still in
 * the new one: an etcd member joined or left a cluster flanprov runs. The running agent then keeps working
 * (it reaches etcd through any member on its list) and is not restarted for it — a join restarts nothing
 * elsewhere; the new list takes effect at the agent's next restart.
 */
export function endpointsOnlyChange(before: string, after: string): boolean {
  const a = ENDPOINTS.exec(before)?.[1];
  const b = ENDPOINTS.exec(after)?.[1];
  if (!a || !b || a === b || before.replace(ENDPOINTS, '') !== after.replace(ENDPOINTS, '')) return false;
  const next = new Set(b.split(','));
  return a.split(',').some((e) => next.has(e));
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

/** The `--mtu` dockerd runs with, when it is a number (one parser for up's and switch's MTU decisions). */
export function dockerMtuFlag(cmdline: string | undefined): number | undefined {
  const m = cmdline ? flagValue(cmdline, '--mtu') : undefined;
  return m !== undefined && /^\d+$/.test(m) ? Number(m) : undefined;
}

export interface DockerNow {
  active: boolean;
  /** the running dockerd's command line (/proc/<MainPID>/cmdline) */
  cmdline?: string;
  /** docker0's IPv4 address "a.b.c.d/len" */
  bridgeAddr?: string;
  /**
   * the default bridge network as the running dockerd has it (`docker network inspect bridge`): what any
   * source set — a flag, daemon.json, a file adoption edited since the daemon read it — wins over the argv
   */
  running?: { mtu?: number; bip?: string };
}

export interface DockerDecisionOptions {
  /** restart Docker also when its MTU is smaller than subnet.env's (`--raise-mtu`) */
  raiseMtu?: boolean;
  /** the cluster's backend, for the hint in the note */
  backend?: string;
}

export interface DockerDecision {
  /** why Docker must restart; undefined: it may keep running */
  restart?: string;
  /** something kept on purpose that the user should know (e.g. a smaller MTU) */
  note?: string;
}

/**
 * Whether Docker must restart: its drop-in changed, or the running dockerd / docker0 do not carry the subnet
 * flannel wrote to subnet.env (e.g. the agent got a new lease), or its MTU is *larger* than subnet.env's
 * (containers would send packets the network drops: an MTU black hole). A *smaller* MTU is safe (each
 * packet carries a few bytes less than it could, e.g. after vxlan → host-gw): it is kept and noted, unless
 * `raiseMtu` asks for the restart — so `up` after a switch that kept the MTU reports no change.
 */
export function dockerDecision(dropInChanged: boolean, subnetEnv: PreviousSubnetEnv | undefined, docker: DockerNow, o: DockerDecisionOptions = {}): DockerDecision {
  if (dropInChanged) return { restart: 'drop-in changed' };
  if (!docker.active) return { restart: 'docker not running' };
  if (!subnetEnv?.subnet) return {};
  const want = `${formatIpv4(firstHost(subnetEnv.subnet))}/${subnetEnv.subnet.prefixLen}`;
  if (docker.bridgeAddr !== want) return { restart: `docker0 is ${docker.bridgeAddr ?? 'unaddressed'}, subnet.env says ${want}` };
  if (docker.cmdline === undefined) return {};
  const bip = docker.running?.bip ?? flagValue(docker.cmdline, '--bip');
  if (bip !== want) return { restart: `dockerd runs with --bip=${bip ?? '(none)'}, subnet.env says ${want}` };
  if (subnetEnv.mtu === undefined) return {};
  const mtu = docker.running?.mtu ?? dockerMtuFlag(docker.cmdline);
  const mtuFlag = mtu !== undefined ? String(mtu) : flagValue(docker.cmdline, '--mtu');
  if (mtu === subnetEnv.mtu) return {};
  if (mtu === undefined || mtu > subnetEnv.mtu) return { restart: `dockerd runs with --mtu=${mtuFlag ?? '(none)'}, subnet.env says ${subnetEnv.mtu}` };
  if (o.raiseMtu) return { restart: `MTU ${mtu} → ${subnetEnv.mtu} (--raise-mtu)` };
  const sw = o.backend ? `\`flanprov switch-backend ${o.backend} --raise-mtu\` or ` : '';
  return { note: `docker0 MTU ${mtu} < network MTU ${subnetEnv.mtu}: kept; ${sw}\`flanprov up --raise-mtu\` raises it (restarts Docker and its containers)` };
}

/** Why Docker must restart, or undefined (dockerDecision without the note). */
export function dockerRestartReason(dropInChanged: boolean, subnetEnv: PreviousSubnetEnv | undefined, docker: DockerNow, o: DockerDecisionOptions = {}): string | undefined {
  return dockerDecision(dropInChanged, subnetEnv, docker, o).restart;
}
