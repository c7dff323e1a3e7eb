/** flannel's key layout in etcd v3: `<prefix>/config` and `<prefix>/subnets/<a.b.c.d>-<len>`. */
import { makeSubnetKey } from '../network/lease.js';
import type { Ipv4Net } from '../network/types.js';

/** Normalise a user-given prefix: no trailing slash, leading slash kept as written. */
export function normalizePrefix(prefix: string): string {
  return prefix.replace(/\/+$/, '');
}

export function configKey(prefix: string): string {
  return `${normalizePrefix(prefix)}/config`;
}

/** What flannel ranges over when listing leases (no trailing slash). */
export function subnetsPrefix(prefix: string): string {
  return `${normalizePrefix(prefix)}/subnets`;
}

export function subnetKey(prefix: string, sn: Ipv4Net): string {
  return `${subnetsPrefix(prefix)}/${makeSubnetKey(sn)}`;
}

/** etcd's range_end for "every key starting with p" (last byte + 1). */
export function prefixRangeEnd(p: string): Buffer {
  const b = Buffer.from(p);
  let i = b.length - 1;
  while (i >= 0 && b[i] === 0xff) i--;
  if (i < 0) return Buffer.from([0]);
  const end = Buffer.from(b.subarray(0, i + 1));
  end[i] = end[i]! + 1;
  return end;
}
