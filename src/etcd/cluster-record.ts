/**
 * The controller's record of the etcd cluster it bootstrapped (cluster.json in the PKI directory): the
 * cluster token and ID and the members as last seen. It is what tells "our cluster" from "another cluster"
 * when a member's data dir is found (member-plan.ts) and what the member plan falls back to when the
 * cluster cannot be asked (no quorum). Written only after etcd has confirmed a change.
 */
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { writePrivate } from './pki-store.js';

export interface RecordedMember {
  name: string;
  /** etcd's member ID, hex as etcdctl prints it */
  id: string;
  peerUrl: string;
}

export interface ClusterRecord {
  version: 1;
  /** --initial-cluster-token of the bootstrap */
  token: string;
  /** etcd's cluster ID, hex */
  clusterId: string;
  members: RecordedMember[];
  updatedAt: string;
}

export class ClusterRecordError extends Error {}

export function readClusterRecord(path: string): ClusterRecord | undefined {
  if (!existsSync(path)) return undefined;
  let j: unknown;
  try {
    j = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ClusterRecordError(`${path} is not JSON: ${(e as Error).message}`);
  }
  const r = j as Partial<ClusterRecord>;
  if (r.version !== 1 || typeof r.token !== 'string' || typeof r.clusterId !== 'string' || !Array.isArray(r.members)) {
    throw new ClusterRecordError(`${path} is not a flanprov etcd cluster record (version 1 with token, clusterId, members)`);
  }
  return r as ClusterRecord;
}

export function writeClusterRecord(path: string, r: Omit<ClusterRecord, 'version' | 'updatedAt'>): ClusterRecord {
  const rec: ClusterRecord = { version: 1, ...r, updatedAt: new Date().toISOString() };
  writePrivate(path, `${JSON.stringify(rec, null, 2)}\n`);
  return rec;
}

/** A new cluster token: unique per bootstrap, so two clusters made from copies of one inventory never merge. */
export function newClusterToken(): string {
  return `flanprov-${randomBytes(8).toString('hex')}`;
}

/** etcd's uint64 IDs (decimal strings in the gRPC API) as etcdctl's hex. */
export function hexId(id: string | bigint): string {
  return BigInt(id).toString(16);
}
