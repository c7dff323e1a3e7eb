/**
 * The pure decisions of `switch-backend`: the config to write, what each agent reports (robust to the
 * exact /status field names), whether the agents are ready to switch and whether one has followed, what
 * happens when one does not, and the MTU consequences. No I/O: the phases feed facts in.
 */
import { pendingChange, type AgentStatus } from '../../network/agent-status.js';
import type { ClusterNetworkSettings } from '../../inventory/types.js';
import { buildNetworkConfig } from '../../inventory/load.js';
import { decodeVxlanOptions, parseNetworkConfig } from '../../network/config.js';
import { formatNet } from '../../network/ipv4.js';
import type { Lease, NetworkConfig } from '../../network/types.js';
import { compareConfigs, type ConfigDiffLine } from '../shared/config-compare.js';
import { BACKEND_FIELD } from '../../network/config-compare.js';
import { BACKEND_TYPES, type BackendType } from '../../network/backends.js';

export type SwitchTarget = BackendType;
export const SWITCH_TARGETS: readonly SwitchTarget[] = BACKEND_TYPES;

// ---------------------------------------------------------------------------------------------------
// the config

export interface TargetConfig {
  /** the JSON object written to etcd (the inventory's config with the target backend) */
  object: Record<string, unknown>;
  text: string;
  config: NetworkConfig;
}

/** The inventory's network config with `target` as its backend (what `up` would seed afterwards). */
export function targetConfig(network: ClusterNetworkSettings, target: SwitchTarget): TargetConfig {
  const object = buildNetworkConfig({ ...network, backend: target });
  const text = JSON.stringify(object);
  return { object, text, config: parseNetworkConfig(object) };
}

/**
 * The differences between the stored config and the target other than the backend: the inventory must
 * agree with etcd on everything else, or a later `up` would refuse the cluster.
 */
export function nonBackendDiff(target: TargetConfig, storedText: string): ConfigDiffLine[] {
  const cmp = compareConfigs(target.object, storedText);
  if (cmp.equal) return [];
  return cmp.diff.filter((d) => !d.field.startsWith(BACKEND_FIELD));
}

// ---------------------------------------------------------------------------------------------------
// what an agent reports

/** One agent as the controller sees it at one moment. */
export interface AgentView {
  host: string;
  /** `systemctl is-active flanneld` ("active", "inactive", "failed", ...); undefined = host unreachable */
  unit?: string;
  /** the agent's GET /status, undefined when it did not answer (or is not flanprov's agent) */
  status?: AgentStatus;
  /** the host's lease in etcd (matched by public IP or subnet) */
  lease?: Lease;
  /** SSH to the host failed */
  unreachable?: string;
}

/** The host's lease: the one with its public IP, else the one for the subnet its agent reports. */
export function leaseOf(leases: readonly Lease[], publicIp: string | undefined, status: AgentStatus | undefined): Lease | undefined {
  if (publicIp) {
    const l = leases.find((x) => x.attrs.PublicIP === publicIp);
    if (l) return l;
  }
  const sn = status?.subnet;
  if (sn) return leases.find((x) => formatNet(x.subnet) === sn);
  return undefined;
}

/** Why an agent is not in a steady state on `backend` (empty when it is): the switch preconditions. */
export function steadyProblems(v: AgentView, backend: string): string[] {
  if (v.unreachable) return [`unreachable: ${v.unreachable}`];
  const out: string[] = [];
  if (v.unit !== 'active') out.push(`flanneld is ${v.unit ?? 'unknown'}`);
  if (v.status === undefined) out.push('the agent does not answer GET /status');
  else {
    if (!v.status.ready) out.push('the agent is not ready');
    const active = v.status.activeBackends;
    if (active.length !== 1 || active[0] !== backend) out.push(`the agent runs ${active.join(' + ') || 'no backend'}, the config in etcd says ${backend}${active.length > 1 ? ' (a switch is in progress)' : ''}`);
    const pending = pendingChange(v.status);
    if (pending) out.push(`the agent has a pending config change (${pending})`);
  }
  if (!v.lease) out.push('no lease in etcd');
  else if ((v.lease.attrs.BackendType ?? '') !== backend) out.push(`its lease says ${v.lease.attrs.BackendType ?? '(no backend)'}, not ${backend}`);
  return out;
}

export type FollowState =
  | { state: 'done' }
  | { state: 'waiting'; why: string }
  /** cannot follow: agent stopped or failed, host unreachable */
  | { state: 'dead'; why: string };

/**
 * Whether an agent has completed the move to `target`: its lease says so, its /status lists only that
 * backend, and it is ready. A stopped/failed unit or an unreachable host is "dead" (no point waiting).
 */
export function followState(v: AgentView, target: string): FollowState {
  if (v.unreachable) return { state: 'dead', why: `unreachable (${v.unreachable})` };
  if (v.unit === 'inactive' || v.unit === 'failed') return { state: 'dead', why: `flanneld is ${v.unit}` };
  const why: string[] = [];
  if (v.unit !== 'active') why.push(`flanneld is ${v.unit ?? 'unknown'}`);
  const lt = v.lease?.attrs.BackendType;
  if (!v.lease) why.push('no lease');
  else if (lt !== target) why.push(`lease says ${lt ?? '(none)'}`);
  if (v.status === undefined) why.push('no /status answer');
  else {
    const active = v.status.activeBackends;
    if (active.length !== 1 || active[0] !== target) why.push(`active: ${active.join(' + ') || 'none'}`);
    if (!v.status.ready) why.push('not ready');
  }
  return why.length ? { state: 'waiting', why: why.join(', ') } : { state: 'done' };
}

// ---------------------------------------------------------------------------------------------------
// when agents do not follow

export type StallAction =
  /** put the old config back (CAS on ours) and wait for the agents to return */
  | { action: 'rollback' }
  /** --force: keep the new config; the hosts that did not follow are reported */
  | { action: 'finish' }
  /** someone else changed the config meanwhile: touch nothing more */
  | { action: 'leave'; why: string };

export function decideOnStall(inp: { force: boolean; configStillOurs: boolean }): StallAction {
  if (!inp.configStillOurs) return { action: 'leave', why: 'the config in etcd was changed by someone else during the switch' };
  return inp.force ? { action: 'finish' } : { action: 'rollback' };
}

// ---------------------------------------------------------------------------------------------------
// MTU

export type MtuAction =
  | { action: 'none' }
  /** Docker must restart with the new (smaller) MTU: bigger packets would be dropped otherwise */
  | { action: 'restart'; from: number | undefined; to: number; why: string }
  /** a larger MTU is possible but optional: kept unless --raise-mtu */
  | { action: 'keep'; from: number; to: number };

/**
 * What to do with Docker's MTU on a host: `docker` is the --mtu it runs with (undefined: not managed or
 * unknown), `wanted` the new backend's MTU.
 */
export function mtuAction(docker: number | undefined, wanted: number, raise: boolean): MtuAction {
  if (docker === undefined || docker === wanted) return { action: 'none' };
  if (docker > wanted) return { action: 'restart', from: docker, to: wanted, why: `MTU ${docker} → ${wanted}: the new backend's packets are smaller` };
  if (raise) return { action: 'restart', from: docker, to: wanted, why: `MTU ${docker} → ${wanted} (--raise-mtu)` };
  return { action: 'keep', from: docker, to: wanted };
}

/** How long to wait, from "90s", "2m", "1500ms" or a number of seconds. */
export function parseDuration(s: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(s.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  return Math.round(m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000);
}
