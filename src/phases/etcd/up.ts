/**
 * The etcd phases of `up` for a cluster flanprov runs (docs/etcd.md). The members' facts come in with the
 * nodes' (withEtcdFacts: one phase, both scripts at once), then after preflight: plan (refusals),
 * certificates, binary, files, start — and `etcd: ready` after the agent's push, so a bootstrap's election
 * and the 100 MB agent upload overlap. Each skips itself unless the inventory has a managed etcd.
 */
import type { Phase } from '../framework/types.js';
import { closeMemberClients, managedEtcd } from '../shared/etcd-members.js';
import { gatherEtcdFacts } from './facts.js';
import { etcdPlanPhase } from './plan.js';
import { etcdPkiPhase } from './pki.js';
import { etcdBinaryPhase } from './binary.js';
import { etcdFilesPhase } from './files.js';
import { etcdReadyPhase, etcdStartPhase } from './start.js';

export { etcdReadyPhase };

/** A facts phase that also gathers a managed etcd's member facts, at the same time. */
export function withEtcdFacts(p: Phase): Phase {
  return {
    ...p,
    async run(ctx) {
      if (!managedEtcd(ctx)) return p.run(ctx);
      // both to the end (a failure of one must not leave the other running into the next phase)
      const rs = await Promise.allSettled([p.run(ctx), gatherEtcdFacts(ctx)]);
      const bad = rs.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (bad) throw bad.reason;
    },
    async cleanUp(ctx) {
      await closeMemberClients(ctx);
      await p.cleanUp?.(ctx);
    },
  };
}

/** After preflight, before the agent's push (then etcd: ready, then seeding the network config). */
export const ETCD_UP_PHASES: Phase[] = [etcdPlanPhase, etcdPkiPhase, etcdBinaryPhase, etcdFilesPhase, etcdStartPhase];
