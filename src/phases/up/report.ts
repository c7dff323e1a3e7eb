/**
 * Phase 9 — Report: says whether the run changed anything (per host and cluster-wide), so a no-change run
 * says so. The per-host summary (ok / changed / failed, times) is the runner's `summary` event.
 */
import type { Phase } from '../framework/types.js';
import { clusterChanges } from '../shared/cluster-changes.js';
import { etcdChanges } from '../shared/etcd-members.js';

export const reportPhase: Phase = {
  title: 'Report',
  readOnly: true,
  async run(ctx) {
    const written = ctx.hosts.reduce((n, h) => n + (h.facts.written?.length ?? 0), 0);
    const pushed = ctx.hosts.filter((h) => h.facts.binaryChanged).length;
    const restarted = ctx.hosts.filter((h) => h.facts.startPlan?.restartAgent).length;
    const cluster = [...clusterChanges(ctx), ...etcdChanges(ctx)];
    const verb = ctx.options.dryRun ? 'would be ' : '';
    if (!written && !pushed && !restarted && !cluster.length) {
      ctx.log('info', ctx.options.dryRun ? 'dry run: nothing would change' : 'no change: every host was already as the inventory says');
    } else {
      ctx.log('info', `${cluster.length ? `${cluster.length} cluster change(s), ` : ''}${written} file(s) ${verb}written, agent ${verb}pushed to ${pushed} host(s), ${restarted} agent(s) ${verb}restarted`);
    }
  },
};

