/**
 * The member table of `flanprov status` and the quorum check of `flanprov check`, for an etcd flanprov runs:
 * every member of the cluster (as etcd lists it) with its URLs, whether it is the leader, its health
 * (`endpoint health` through its host), DB size, version and raft index.
 */
import type { Phase, PhaseContext } from '../framework/types.js';
import { VerifyFailedError } from '../../util/errors.js';
import { memberStatus, type MemberStatus } from '../../etcd/cluster-admin.js';
import { quorum } from '../../etcd/member-plan.js';
import { clientUrl, peerUrl } from '../../etcd/member-layout.js';
import { etcdMembers, managedEtcd, memberClient } from '../shared/etcd-members.js';
import './state.js';

export interface MemberRow {
  member: string;
  id: string;
  peerUrl: string;
  clientUrl: string;
  leader: string;
  health: string;
  dbSize: string;
  version: string;
  raftIndex: string;
}

function size(bytes: number): string {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(0)} KiB`;
}

/** The rows, from the member list (else the group) and each member's health and status. Pure. */
export function memberRows(
  group: readonly { name: string; peerUrl: string; clientUrl: string }[],
  list: readonly { id: string; name: string; peerUrls: string[]; clientUrls: string[] }[] | undefined,
  health: ReadonlyMap<string, { healthy: boolean; error?: string; ms: number }>,
  status: ReadonlyMap<string, MemberStatus>,
): MemberRow[] {
  const leader = [...status.values()].find((s) => s.leader !== '0')?.leader;
  const rows = (list ?? group.map((g) => ({ id: '?', name: g.name, peerUrls: [g.peerUrl], clientUrls: [g.clientUrl] }))).map((m) => {
    const inGroup = group.some((g) => g.name === m.name);
    const h = health.get(m.name);
    const st = status.get(m.name);
    return {
      member: m.name || '(not started)', id: m.id, peerUrl: m.peerUrls.join(','), clientUrl: m.clientUrls.join(',') || '-',
      leader: leader && m.id === leader ? 'leader' : '', dbSize: st ? size(st.dbSizeBytes) : '-', version: st?.version ?? '-', raftIndex: st?.raftIndex ?? '-',
      health: !inGroup ? 'not in the etcd group' : !h ? 'unknown' : h.healthy ? `healthy (${h.ms} ms)` : `UNHEALTHY: ${h.error ?? ''}`.trim(),
    };
  });
  const order = (n: string): number => { const i = group.findIndex((g) => g.name === n); return i < 0 ? group.length : i; };
  rows.sort((a, b) => order(a.member) - order(b.member) || a.member.localeCompare(b.member));
  for (const g of group) {
    if (!rows.some((r) => r.member === g.name)) rows.push({ member: g.name, id: '-', peerUrl: g.peerUrl, clientUrl: g.clientUrl, leader: '', health: 'NOT A MEMBER (run flanprov up)', dbSize: '-', version: '-', raftIndex: '-' });
  }
  return rows;
}

export function formatMemberRows(rows: readonly MemberRow[]): string {
  const head: MemberRow = { member: 'MEMBER', id: 'ID', peerUrl: 'PEER URL', clientUrl: 'CLIENT URL', leader: 'LEADER', health: 'HEALTH', dbSize: 'DB SIZE', version: 'VERSION', raftIndex: 'RAFT INDEX' };
  const keys = Object.keys(head) as (keyof MemberRow)[];
  const w = keys.map((k) => Math.max(...[head, ...rows].map((r) => r[k].length)));
  return [head, ...rows].map((r) => keys.map((k, i) => r[k].padEnd(w[i]!)).join('  ').trimEnd()).join('\n');
}

async function rows(ctx: PhaseContext): Promise<MemberRow[]> {
  const managed = managedEtcd(ctx)!;
  const members = etcdMembers(ctx).filter((m) => m.host.conn);
  const status = new Map<string, MemberStatus>();
  await Promise.all(members.filter((m) => m.host.facts.etcdHealth?.healthy).map(async (m) => {
    try { status.set(m.spec.name, await memberStatus(await memberClient(ctx, m))); } catch { /* shown as '-' */ }
  }));
  // a member that is down says more by its unit's state than by gRPC's connection error
  const health = new Map(members.flatMap((m) => {
    const h = m.host.facts.etcdHealth;
    if (!h) return [];
    const unit = m.host.facts.etcd?.unit?.active;
    return [[m.spec.name, h.healthy || !unit || unit === 'active' ? h : { ...h, error: `etcd.service is ${unit}` }] as const];
  }));
  const group = managed.members.map((m) => ({ name: m.name, peerUrl: peerUrl(m, managed.tls), clientUrl: clientUrl(m, managed.tls) }));
  return memberRows(group, ctx.state.etcdMemberList?.members, health, status);
}

export const etcdStatusPhase: Phase = {
  title: 'etcd members',
  readOnly: true,
  shouldRun: (ctx) => !!managedEtcd(ctx),
  async run(ctx) {
    if (!ctx.state.etcdRecord?.clusterId) { ctx.log('info', 'etcd: no cluster bootstrapped yet (run flanprov up)'); return; }
    ctx.log('info', formatMemberRows(await rows(ctx)));
  },
};

/** Why the cluster is not fully healthy (empty: it is): members not healthy, missing, and what that means for the quorum. */
export function quorumProblems(r: readonly MemberRow[]): string[] {
  const bad = r.filter((x) => !x.health.startsWith('healthy'));
  if (!bad.length) return [];
  const members = r.filter((x) => x.id !== '-');
  const healthy = members.filter((x) => x.health.startsWith('healthy')).length;
  const q = quorum(members.length);
  return [
    ...bad.map((x) => `etcd member ${x.member} (${x.clientUrl}): ${x.health}`),
    healthy >= q ? `quorum kept: ${healthy} of ${members.length} members healthy (quorum ${q}); one more failure ${healthy - 1 >= q ? 'is survived' : 'stops etcd'}`
      : `QUORUM LOST: ${healthy} of ${members.length} members healthy (quorum ${q}): etcd serves no reads or writes`,
  ];
}

export const etcdCheckPhase: Phase = {
  title: 'etcd quorum',
  readOnly: true,
  shouldRun: (ctx) => !!managedEtcd(ctx),
  async run(ctx) {
    if (!ctx.state.etcdRecord?.clusterId) throw new VerifyFailedError('no etcd cluster bootstrapped yet (run flanprov up)', 'etcd');
    const r = await rows(ctx);
    const problems = quorumProblems(r);
    if (problems.length) throw new VerifyFailedError(problems.join('\n'), 'etcd');
    ctx.log('info', `etcd: ${r.length} of ${r.length} members healthy, leader ${r.find((x) => x.leader)?.member ?? '?'}`);
  },
};
