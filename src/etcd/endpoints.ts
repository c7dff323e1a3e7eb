/**
 * flannel's etcd defaults and the endpoint list syntax. A module of its own, without the etcd3 client, so
 * reading an inventory (`render`, `--help`) does not load gRPC.
 */
export const DEFAULT_ETCD_ENDPOINTS = ['http://127.0.0.1:4001', 'http://127.0.0.1:2379'];
export const DEFAULT_ETCD_PREFIX = '/coreos.com/network';

/** `a,b` and `[a, b]` alike: comma-separated strings are split, blanks dropped. */
export function splitEndpoints(list: string | string[]): string[] {
  return (Array.isArray(list) ? list : [list]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
}
