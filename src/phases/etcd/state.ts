/**
 * What the etcd phases of `up` learn and hand on (typed through the framework's augmentation): each member
 * host's etcd facts and what this run wrote, pushed and restarted there; the cluster as it answered; the plan.
 */
import type { MemberFacts } from './member-facts.js';
import type { BinaryChoice } from './binary-plan.js';
import type { MemberPlan, LiveCluster } from '../../etcd/member-plan.js';
import type { ClusterRecord } from '../../etcd/cluster-record.js';
import type { PkiPlan } from '../../etcd/pki-store.js';
import type { DesiredFile } from '../shared/changes.js';
import type { Health, MemberList } from '../../etcd/cluster-admin.js';
import type { HostState } from '../framework/types.js';

declare module '../framework/types.js' {
  interface HostFacts {
    /** the member host's etcd facts (member-facts.ts) */
    etcd?: MemberFacts;
    /** member files written by this run */
    etcdWritten?: DesiredFile[];
    /** etcd's binary was pushed or installed by this run */
    etcdBinaryChanged?: boolean;
    /** health as the etcd facts phase saw it */
    etcdHealth?: Health;
  }
  interface RunState {
    /** the cluster when the etcd facts were gathered (undefined: it did not answer) */
    etcdLive?: LiveCluster;
    /** the member list that answered */
    etcdMemberList?: MemberList;
    /** the cluster record read from the PKI directory */
    etcdRecord?: ClusterRecord;
    etcdPlan?: { members: MemberPlan; binaries: Map<string, BinaryChoice>; pki?: PkiPlan; token: string };
    /** `up --yes`: members no longer in the etcd group may be removed */
    etcdAllowRemove?: boolean;
  }
}

/** A member's etcd facts; throws an internal error when the etcd facts phase has not run. */
export function etcdFacts(h: HostState): MemberFacts {
  const f = h.facts.etcd;
  if (!f) throw new Error(`internal: no etcd facts for ${h.name} (the etcd facts phase has not run)`);
  return f;
}
