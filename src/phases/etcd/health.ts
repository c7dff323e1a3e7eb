/**
 * The managed cluster as it answers now: every member's health (`endpoint health`, through its own host)
 * and the member list from a healthy member. The cluster "answers" when some member is healthy, which a
 * linearizable read only is with a quorum.
 */
import type { PhaseContext } from '../framework/types.js';
import { listMembers, memberHealth, type Health, type MemberList } from '../../etcd/cluster-admin.js';
import type { LiveCluster } from '../../etcd/member-plan.js';
import { etcdMembers, memberClient, type EtcdMemberHost, type MemberEndpoint } from '../shared/etcd-members.js';

export interface ClusterView {
  health: Map<string, Health>;
  list?: MemberList;
  /** undefined: no member is healthy (no quorum, or not running) */
  live?: LiveCluster;
}

export async function healthOf(ctx: PhaseContext, m: MemberEndpoint, ms = 2000): Promise<Health> {
  try {
    return await memberHealth(await memberClient(ctx, m), ms);
  } catch (e) {
    return { healthy: false, error: (e as Error).message.split('\n')[0]!, ms: 0 };
  }
}

export async function observeCluster(ctx: PhaseContext, members: readonly EtcdMemberHost[] = etcdMembers(ctx).filter((m) => m.host.conn)): Promise<ClusterView> {
  const health = new Map(await Promise.all(members.map(async (m) => [m.spec.name, await healthOf(ctx, m)] as const)));
  const view: ClusterView = { health };
  for (const m of members) {
    if (!health.get(m.spec.name)?.healthy) continue;
    try {
      view.list = await listMembers(await memberClient(ctx, m));
      break;
    } catch { /* the next healthy member */ }
  }
  if (view.list) {
    // members outside the group whose host is one of this run's (a node leaving the etcd group): asked too
    const others = view.list.members.flatMap((x): MemberEndpoint[] => {
      const host = !health.has(x.name) && ctx.hosts.find((h) => h.name === x.name && h.conn);
      const address = x.peerUrls[0] && /^https?:\/\/([^:/]+)/.exec(x.peerUrls[0])?.[1];
      return host && address ? [{ spec: { name: x.name, address }, host }] : [];
    });
    for (const [n, h] of await Promise.all(others.map(async (o) => [o.spec.name, await healthOf(ctx, o)] as const))) health.set(n, h);
    // A member no host of this run leads to counts as not healthy (conservative: membership changes are
    // judged on the members known to serve).
    view.live = {
      clusterId: view.list.clusterId,
      members: view.list.members.map((x) => ({ id: x.id, name: x.name, peerUrls: x.peerUrls, healthy: health.get(x.name)?.healthy === true })),
    };
  }
  return view;
}
