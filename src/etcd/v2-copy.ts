/**
 * `up --adopt` on a cluster whose flannel data sits in etcd's v2 store: copy the config and every lease
 * into the v3 layout flannel ≥ 0.18 uses (same keys; the lease JSON as flannel writes it, LeaseStore's), so the agents find their own lease
 * by public IP and keep their subnets. Create-only: a key v3 already has is left as it is (reported). A
 * lease keeps the TTL it had left in v2 (a v3 lease granted for that long); a key without a TTL (a
 * reservation) gets none. The v2 data is not touched.
 */
import type { Etcd3 } from 'etcd3';
import { createConfig, type StoredConfig } from './config-store.js';
import { configKey } from './keys.js';
import { LeaseStore } from './lease-store.js';
import type { V2FlannelData } from './v2-store.js';
import { formatNet } from '../network/ipv4.js';
import { decodeLeaseAttrs } from '../network/lease.js';
import type { Ipv4Net, LeaseAttrs } from '../network/types.js';

export interface CopiedLease {
  subnet: Ipv4Net;
  publicIp: string;
  /** the TTL given to the v3 lease (undefined: a reservation, no TTL) */
  ttl?: number;
  /** `exists`: v3 already had the key, left alone */
  result: 'copied' | 'exists';
}

export interface V2CopyResult {
  /** `exists`: v3 had a config by then (left alone); `stored`: the v3 config after the copy */
  config: { result: 'copied' | 'exists'; stored: StoredConfig };
  leases: CopiedLease[];
  /** leases whose JSON flannel could not read (not copied) */
  unreadable: { key: string; reason: string }[];
}

export async function copyV2ToV3(client: Etcd3, prefix: string, data: V2FlannelData): Promise<V2CopyResult> {
  const leases: CopiedLease[] = [];
  const unreadable: V2CopyResult['unreadable'] = [];
  // leases first: an agent that sees the config before its lease would pick a new subnet
  await Promise.all(data.leases.map(async (l) => {
    let attrs: LeaseAttrs;
    try {
      attrs = decodeLeaseAttrs(l.value);
    } catch (e) {
      unreadable.push({ key: l.key, reason: (e as Error).message });
      return;
    }
    // LeaseStore's create-only put, with the TTL the lease had left (a key without one stays a reservation)
    const ttl = l.ttl === undefined ? undefined : Math.max(1, l.ttl);
    const put = await new LeaseStore(client, prefix, ttl === undefined ? {} : { ttlSeconds: ttl }).putIf(l.subnet, attrs, undefined, ttl === undefined);
    leases.push({ subnet: l.subnet, publicIp: attrs.PublicIP, ...(ttl !== undefined ? { ttl } : {}), result: put ? 'copied' : 'exists' });
  }));
  leases.sort((a, b) => a.subnet.ip - b.subnet.ip);
  const c = await createConfig(client, prefix, data.config);
  const config = c.created
    ? { result: 'copied' as const, stored: { text: data.config, modRevision: c.modRevision, version: '1' } }
    : { result: 'exists' as const, stored: c.existing };
  return { config, leases, unreadable };
}

/** What the copy did, in words: `copied` are changes, `kept` what v3 already had (and what was not copied). */
export function describeV2Copy(prefix: string, r: V2CopyResult): { copied: string[]; kept: string[] } {
  const copied: string[] = [];
  const kept: string[] = [];
  if (r.config.result === 'copied') copied.push(`copied ${configKey(prefix)} from etcd's v2 store to v3 (the v2 data is left alone)`);
  else kept.push(`${configKey(prefix)} already in v3: left as it is`);
  for (const l of r.leases) {
    if (l.result === 'copied') copied.push(`copied the lease of ${formatNet(l.subnet)} (${l.publicIp}) to v3${l.ttl !== undefined ? `, TTL ${l.ttl} s kept` : ', no TTL (a reservation)'}`);
    else kept.push(`the lease of ${formatNet(l.subnet)} already in v3: left as it is`);
  }
  for (const u of r.unreadable) kept.push(`not copied: ${u.key} (${u.reason})`);
  return { copied, kept };
}
