/**
 * What the `switch-backend` phases share during one run (in ctx.shared under "switch"): the options, the
 * plan decided by preflight, and what happened (config written, hosts that did not follow, measurement).
 */
import type { PhaseContext } from '../framework/types.js';
import type { StoredConfig } from '../../etcd/config-store.js';
import type { Measurement, MeasureResult } from '../../measure/session.js';
import type { SwitchTarget, TargetConfig } from './plan.js';

export interface SwitchOptions {
  target: SwitchTarget;
  /** how long to wait for every agent to report the new backend (and, on rollback, the old one) */
  timeoutMs: number;
  /** how often agents and leases are polled while waiting */
  pollMs: number;
  measure: boolean;
  measureIntervalMs: number;
  /** keep the pingers' raw logs in this local directory */
  measureKeepLogs?: string;
  /** vxlan → host-gw: restart Docker to use the larger MTU now */
  raiseMtu: boolean;
  /** when agents do not follow: keep the new config instead of rolling back */
  force: boolean;
  /** rewrite flannel_backend in the inventory file after a successful switch */
  updateInventory: boolean;
}

export type SwitchKind =
  /** the cluster is already on the target backend everywhere */
  | 'noop'
  /** write the new config and move every agent */
  | 'switch'
  /** the config already says the target but some agents have not followed (an earlier --force): wait and finish */
  | 'resume';

export interface SwitchRun {
  opts: SwitchOptions;
  kind?: SwitchKind;
  /** the backend in etcd before this run */
  from?: string;
  stored?: StoredConfig;
  target?: TargetConfig;
  /** unix ms when the new config was written */
  writtenAt?: number;
  outcome?: 'switched' | 'rolled-back' | 'forced' | 'left';
  /** hosts that did not follow (reported at the end; with --force they fail the run) */
  notFollowed: { host: string; why: string }[];
  measurement?: Measurement;
  measureResult?: MeasureResult;
  /** hosts whose Docker keeps a smaller MTU than the new backend allows */
  mtuKept: { host: string; from: number; to: number; envMtu?: number }[];
}

declare module '../framework/types.js' {
  interface RunState {
    /** the switch being made (set by the switch-backend command) */
    switch?: SwitchRun;
  }
}

export function newSwitchRun(opts: SwitchOptions): SwitchRun {
  return { opts, notFollowed: [], mtuKept: [] };
}

export function switchRun(ctx: PhaseContext): SwitchRun {
  const r = ctx.state.switch;
  if (!r) throw new Error('internal: switch-backend state missing (the command sets ctx.state.switch)');
  return r;
}

/** The plan's parts that exist once preflight has passed. */
export function planned(run: SwitchRun): Required<Pick<SwitchRun, 'kind' | 'from' | 'stored' | 'target'>> {
  if (!run.kind || run.from === undefined || !run.stored || !run.target) throw new Error('internal: switch preflight has not run');
  return { kind: run.kind, from: run.from, stored: run.stored, target: run.target };
}
