/**
 * The etcd cluster API calls flanprov makes on a cluster it runs: member list / add / remove, a member's
 * health (what `etcdctl endpoint health` does: a linearizable read of the key "health", which only succeeds
 * through a quorum) and its status (version, DB size, leader, raft index). Every call has a deadline, so a
 * dead member fails a call instead of hanging it. IDs are hex, as etcdctl prints them.
 */
import type { Etcd3 } from 'etcd3';
import { deadline } from './client.js';
import { hexId } from './cluster-record.js';

export interface ClusterMember {
  id: string;
  /** empty for a member added but not started yet */
  name: string;
  peerUrls: string[];
  clientUrls: string[];
}

export interface MemberList {
  clusterId: string;
  /** the member that answered */
  answeredBy: string;
  members: ClusterMember[];
}

const CALL_MS = 5000;

function toMember(m: { ID: string; name: string; peerURLs: string[]; clientURLs: string[] }): ClusterMember {
  return { id: hexId(m.ID), name: m.name, peerUrls: m.peerURLs, clientUrls: m.clientURLs };
}

export async function listMembers(client: Etcd3, ms = CALL_MS): Promise<MemberList> {
  const r = await client.cluster.memberList({ linearizable: true }, deadline(ms));
  return { clusterId: hexId(r.header.cluster_id), answeredBy: hexId(r.header.member_id), members: r.members.map(toMember) };
}

/** `member add` (a voting member): the new member's ID and the members after it. */
export async function addMember(client: Etcd3, peerUrl: string, ms = CALL_MS): Promise<{ id: string; members: ClusterMember[] }> {
  const r = await client.cluster.memberAdd({ peerURLs: [peerUrl] }, deadline(ms));
  return { id: hexId(r.member.ID), members: r.members.map(toMember) };
}

export async function removeMember(client: Etcd3, id: string, ms = CALL_MS): Promise<void> {
  await client.cluster.memberRemove({ ID: BigInt(`0x${id}`).toString() }, deadline(ms));
}

export interface Health {
  healthy: boolean;
  /** why not */
  error?: string;
  ms: number;
}

/** `etcdctl endpoint health` for a client bound to one member: a linearizable get of "health" (permission denied counts as healthy, as there). */
export async function memberHealth(client: Etcd3, ms = 2000): Promise<Health> {
  const t0 = Date.now();
  try {
    await client.kv.range({ key: Buffer.from('health') }, deadline(ms));
    return { healthy: true, ms: Date.now() - t0 };
  } catch (e) {
    const msg = (e as Error).message;
    if (/permission denied/i.test(msg)) return { healthy: true, ms: Date.now() - t0 };
    return { healthy: false, error: grpcReason(msg), ms: Date.now() - t0 };
  }
}

/** gRPC's error text, shortened: "14 UNAVAILABLE: No connection established. Last error: … Resolution note: …" → "unavailable: …". */
export function grpcReason(msg: string): string {
  const m = /^\d+ ([A-Z_]+): (.*?)(?: Resolution note:.*)?$/s.exec(msg.split('\n')[0]!.trim());
  if (!m) return msg.split('\n')[0]!;
  const last = /Last error: (?:Error: )?(.*?)\.?$/.exec(m[2]!)?.[1];
  return `${m[1]!.toLowerCase().replace(/_/g, ' ')}: ${last ?? m[2]!.replace(/\.$/, '')}`;
}

export interface MemberStatus {
  memberId: string;
  clusterId: string;
  version: string;
  dbSizeBytes: number;
  /** the leader as this member sees it (hex; "0" = none) */
  leader: string;
  raftTerm: string;
  raftIndex: string;
  errors: string[];
}

export async function memberStatus(client: Etcd3, ms = 2000): Promise<MemberStatus> {
  const r = await client.maintenance.status(deadline(ms));
  return {
    memberId: hexId(r.header.member_id), clusterId: hexId(r.header.cluster_id), version: r.version, dbSizeBytes: Number(r.dbSize),
    leader: hexId(r.leader), raftTerm: r.raftTerm, raftIndex: r.raftIndex, errors: (r as { errors?: string[] }).errors ?? [],
  };
}
