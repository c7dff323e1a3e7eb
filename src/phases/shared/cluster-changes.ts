/**
 * Cluster-wide changes a run made (e.g. the network config written to etcd), besides the per-host ones the
 * runner records: `up`'s report and switch-backend name them, so a no-change run can say so.
 */
import type { PhaseContext } from '../framework/types.js';

declare module '../framework/types.js' {
  interface RunState {
    clusterChanges?: string[];
  }
}

/** Records a cluster-wide change (and logs it). */
export function clusterChange(ctx: PhaseContext, what: string): void {
  (ctx.state.clusterChanges ??= []).push(what);
  ctx.log('info', what);
}

export function clusterChanges(ctx: PhaseContext): string[] {
  return ctx.state.clusterChanges ?? [];
}
