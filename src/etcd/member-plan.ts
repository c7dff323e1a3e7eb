/**
 * The membership decisions for an etcd cluster flanprov runs (docs/etcd.md), as pure functions over what
 * was observed: each member's data dir (whose cluster it holds, wal-metadata.ts) and unit, the cluster's own
 * member list and health when it answers, and the controller's record of the bootstrap (cluster-record.ts).
 *
 * - no record and no data anywhere: bootstrap every member at once (static, with a new cluster token);
 * - a data dir of another cluster (or any data dir before a bootstrap) is refused, naming host and path;
 * - a member with its data: start it when it is not running (never a membership change);
 * - a host new to the group: `member add`, then start with initial-cluster-state=existing;
 * - a member whose data dir is gone: `member remove` + `member add`, then start as a new member;
 * - a member no longer in the group: refused without `--yes`; with it, `member remove`.
 * Every membership change is checked against the cluster's health as it is now (members this run is about to
 * start do not count): a change that would leave fewer healthy members than the new size's quorum is refused.
 */
import type { ClusterRecord } from './cluster-record.js';

/** What a member's data dir holds. */
export type DataDirState =
  | { kind: 'absent' }
  | { kind: 'wal'; clusterId: string; memberId: string }
  /** a data dir whose WAL could not be read (or a non-empty dir without one) */
  | { kind: 'unknown'; detail: string };

export interface DesiredMember {
  name: string;
  peerUrl: string;
  /** the data dir path on the host (for messages) */
  dataDir: string;
  data: DataDirState;
  /** etcd.service is active */
  active: boolean;
}

export interface LiveMember {
  /** hex */
  id: string;
  /** empty for a member added but never started */
  name: string;
  peerUrls: string[];
  healthy: boolean;
}

export interface LiveCluster {
  clusterId: string;
  members: LiveMember[];
}

export interface PlanInput {
  /** the `etcd` group, in inventory order */
  desired: DesiredMember[];
  record?: ClusterRecord;
  /** undefined: the cluster did not answer (not running, or no quorum) */
  live?: LiveCluster;
  /** `up --yes`: members no longer in the group may be removed */
  allowRemove: boolean;
  /** the cluster record's path, for messages */
  recordPath: string;
}

export type MemberStep =
  /** first start of a new cluster's members (ETCD_INITIAL_CLUSTER_STATE=new), all at once */
  | { op: 'bootstrap'; members: string[] }
  /** start a member that has its data */
  | { op: 'start'; member: string }
  /** `member remove` of a member that is not in the group (then stop it where its host is known) */
  | { op: 'remove'; member: string; id: string }
  /** `member add` then first start with state=existing; `removeId`: remove that stale entry first; `setAside`: move the old data dir away first */
  | { op: 'join'; member: string; removeId?: string; setAside?: boolean };

export interface MemberPlan {
  kind: 'bootstrap' | 'converge';
  steps: MemberStep[];
  /** reasons to change nothing at all (exit 2) */
  refusals: string[];
  warnings: string[];
}

export function quorum(n: number): number {
  return Math.floor(n / 2) + 1;
}

function stopsServing(what: string, healthyAfter: number, sizeAfter: number, unhealthy: string[]): string | undefined {
  if (healthyAfter >= quorum(sizeAfter)) return undefined;
  const down = unhealthy.length ? ` (not healthy now: ${unhealthy.join(', ')})` : '';
  return `${what} would leave ${healthyAfter} healthy member(s) of ${sizeAfter}, below its quorum of ${quorum(sizeAfter)}: etcd would stop serving${down}; bring the cluster back to health first (\`flanprov up\` without this change starts members that have their data)`;
}

export function planMembers(inp: PlanInput): MemberPlan {
  const refusals: string[] = [];
  const warnings: string[] = [];
  if (inp.desired.length % 2 === 0) warnings.push(`the etcd group has ${inp.desired.length} members: an odd number tolerates as many failures with one member less`);

  // Before a bootstrap has been recorded (or while one is pending), any data dir is someone else's.
  const pending = inp.record && !inp.record.clusterId;
  if (!inp.record || pending) {
    for (const d of inp.desired) {
      if (d.data.kind === 'absent') continue;
      const ours = pending && d.data.kind === 'wal' && inp.record!.members.some((m) => m.name === d.name);
      if (ours) continue;
      refusals.push(`${d.name}: ${d.dataDir} ${d.data.kind === 'wal' ? `holds the data of etcd cluster ${d.data.clusterId} (member ${d.data.memberId})` : `is not empty (${d.data.detail})`}, and ${inp.recordPath} records no cluster of flanprov's: bootstrapping a new cluster over it is refused; if it is stale, move it away on ${d.name}; if flanprov made it from another copy of this inventory, set flannel_etcd_pki_dir to that copy's PKI directory`);
    }
    if (pending) {
      const was = inp.record!.members.map((m) => m.name).sort().join(',');
      const now = inp.desired.map((d) => d.name).sort().join(',');
      if (was !== now) refusals.push(`a bootstrap of ${was.replace(/,/g, ', ')} was started (${inp.recordPath}) and did not finish; finish it with the same etcd group (now ${now.replace(/,/g, ', ')}), then change the group`);
      const ids = new Set(inp.desired.flatMap((d) => (d.data.kind === 'wal' ? [d.data.clusterId] : [])));
      if (ids.size > 1) refusals.push(`the members' data dirs hold different clusters (${[...ids].join(', ')}): the unfinished bootstrap cannot be resumed`);
    }
    if (refusals.length) return { kind: 'bootstrap', steps: [], refusals, warnings };
    // a resumed bootstrap starts the members that already have their data in the same static bootstrap
    return { kind: 'bootstrap', steps: [{ op: 'bootstrap', members: inp.desired.map((d) => d.name) }], refusals, warnings };
  }

  const rec = inp.record;
  if (inp.live && inp.live.clusterId !== rec.clusterId) {
    refusals.push(`the etcd cluster that answers is ${inp.live.clusterId}, but ${inp.recordPath} records cluster ${rec.clusterId}: refusing to change either`);
    return { kind: 'converge', steps: [], refusals, warnings };
  }
  // Membership as etcd says, else as last recorded (then nobody counts as healthy: no membership change is possible).
  const members: LiveMember[] = inp.live?.members ?? rec.members.map((m) => ({ id: m.id, name: m.name, peerUrls: [m.peerUrl], healthy: false }));
  const matched = new Set<LiveMember>();
  const steps: MemberStep[] = [];
  const joins: Extract<MemberStep, { op: 'join' }>[] = [];

  for (const d of inp.desired) {
    const m = members.find((x) => x.name === d.name) ?? members.find((x) => x.peerUrls.includes(d.peerUrl));
    if (m) matched.add(m);
    if (d.data.kind === 'unknown') {
      refusals.push(`${d.name}: ${d.dataDir} is not empty but holds no readable etcd WAL (${d.data.detail}): refusing to start or replace it; inspect it on ${d.name}`);
      continue;
    }
    if (d.data.kind === 'wal' && d.data.clusterId !== rec.clusterId) {
      refusals.push(`${d.name}: ${d.dataDir} holds the data of another etcd cluster (${d.data.clusterId}, member ${d.data.memberId}; this one is ${rec.clusterId}): refusing to start it or to join ${d.name} over it; if it is stale, move it away on ${d.name}`);
      continue;
    }
    if (d.data.kind === 'wal' && m && m.id === d.data.memberId) {
      if (!d.active || !m.healthy) steps.push({ op: 'start', member: d.name });
      continue;
    }
    // No data of its own: join as a new member. A stale entry of this member is removed first; data of a
    // member this cluster no longer has (it was removed) is moved aside, never deleted.
    const setAside = d.data.kind === 'wal';
    joins.push({ op: 'join', member: d.name, ...(m ? { removeId: m.id } : {}), ...(setAside ? { setAside } : {}) });
  }
  const removals = members.filter((m) => !matched.has(m));
  for (const r of removals) {
    if (!inp.allowRemove) refusals.push(`${r.name || `unstarted member ${r.id}`} (${r.peerUrls.join(', ')}) is a member of the etcd cluster but not in the etcd group: removing it needs \`--yes\``);
  }

  // Membership changes, one at a time, each checked on the health of now: removals of unhealthy members
  // first (they cost nothing), then joins (a stale entry of a joiner is unhealthy by definition), then
  // removals of healthy members.
  if (joins.length || removals.length) {
    if (!inp.live) {
      refusals.push(`the etcd cluster does not answer (no quorum, or not running): membership changes (${[...joins.map((j) => `add ${j.member}`), ...removals.map((r) => `remove ${r.name || r.id}`)].join(', ')}) need it; \`flanprov up\` without them starts the members that have their data`);
    } else {
      const health = new Map(members.map((m) => [m, m.healthy]));
      const unhealthy = (): string[] => [...health].filter(([, h]) => !h).map(([m]) => m.name || m.id);
      let size = members.length;
      let healthy = [...health.values()].filter(Boolean).length;
      type Change = { join: Extract<MemberStep, { op: 'join' }> } | { remove: LiveMember };
      const ordered: Change[] = [
        ...removals.filter((r) => !r.healthy).map((remove) => ({ remove })),
        ...joins.map((join) => ({ join })),
        ...removals.filter((r) => r.healthy).map((remove) => ({ remove })),
      ];
      const drop = (m: LiveMember, what: string): boolean => {
        const after = healthy - (health.get(m) ? 1 : 0);
        const why = size - 1 < 1 ? `${what} would leave the cluster without members` : stopsServing(what, after, size - 1, unhealthy());
        if (why) { refusals.push(why); return false; }
        health.delete(m);
        size -= 1;
        healthy = after;
        return true;
      };
      for (const c of ordered) {
        if ('remove' in c) {
          const r = c.remove;
          if (!drop(r, `removing ${r.name || r.id}`)) break;
          steps.push({ op: 'remove', member: r.name || r.id, id: r.id });
          continue;
        }
        const j = c.join;
        if (j.removeId && !drop(members.find((m) => m.id === j.removeId)!, `removing ${j.member}'s old entry ${j.removeId}`)) break;
        const why = stopsServing(`adding ${j.member}`, healthy, size + 1, unhealthy());
        if (why) { refusals.push(why); break; }
        size += 1;
        healthy += 1; // the step waits until the new member is healthy before the next change
        steps.push(j);
      }
    }
  }
  return { kind: 'converge', steps: refusals.length ? [] : steps, refusals, warnings };
}

/**
 * ETCD_INITIAL_CLUSTER for a member joining: the members etcd lists after `member add` — the started ones
 * by name, the new one by its own (etcdctl's `member add` prints the same).
 */
export function joinInitialCluster(after: readonly { id: string; name: string; peerUrls: string[] }[], newId: string, newName: string): string {
  return after.flatMap((m) => m.peerUrls.map((u) => `${m.id === newId ? newName : m.name}=${u}`)).join(',');
}
