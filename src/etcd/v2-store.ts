/**
 * Read-only access to etcd's v2 store, for clusters built before flannel 0.18: their config was written
 * with `ETCDCTL_API=2 etcdctl set`, which a v3 client does not see (the stores are separate). etcd serves
 * the v2 HTTP API on the client port only when started with --enable-v2; the etcd3 package speaks gRPC
 * only, so this is a plain GET (node's http/https, the same TLS files, basic auth as v2 takes it).
 * Nothing here writes to v2: adoption copies to v3 and leaves the v2 data alone.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { checkServerIdentity } from 'node:tls';
import { readFileSync } from 'node:fs';
import { configKey, normalizePrefix, subnetsPrefix } from './keys.js';
import type { EtcdConnectOptions } from './client.js';
import { parseSubnetKey } from '../network/lease.js';
import type { Ipv4Net } from '../network/types.js';

/** One endpoint with the v3 client's TLS files and user (the same fields as EtcdConnectOptions). */
export interface V2Endpoint extends Pick<EtcdConnectOptions, 'caFile' | 'certFile' | 'keyFile' | 'username' | 'password'> {
  /** scheme://host:port as reached from here (through a tunnel: 127.0.0.1 and the tunnel's port) */
  url: string;
  /** the host name the server certificate is checked against when `url` goes through a tunnel */
  serverName?: string;
}

/** The v2 endpoints of the etcd a v3 client is given (same URLs, TLS files, user). */
export function v2EndpointsOf(o: EtcdConnectOptions): V2Endpoint[] {
  const { caFile, certFile, keyFile, username, password } = o;
  const creds = Object.fromEntries(Object.entries({ caFile, certFile, keyFile, username, password }).filter(([, v]) => v !== undefined));
  return o.endpoints.map((url) => ({ url, ...creds }));
}

/** One node of a v2 answer (only the fields used here). */
export interface V2Node {
  key: string;
  value?: string;
  dir?: boolean;
  /** seconds left (keys with a TTL only) */
  ttl?: number;
  nodes?: V2Node[];
}

export type V2Get =
  | { kind: 'found'; node: V2Node }
  | { kind: 'missing' }
  /** etcd answers, but not the v2 API (no --enable-v2; etcd ≥ 3.6 has none) */
  | { kind: 'no-v2'; detail: string }
  | { kind: 'error'; detail: string };

export interface V2Lease {
  key: string;
  subnet: Ipv4Net;
  /** the lease JSON as stored (flannel's v2 and v3 layouts hold the same value) */
  value: string;
  /** seconds left; undefined = no TTL (a reservation) */
  ttl?: number;
}

export interface V2FlannelData {
  config: string;
  leases: V2Lease[];
  /** keys under subnets/ that are not leases */
  skipped: string[];
}

const encodeKey = (key: string) => key.split('/').map(encodeURIComponent).join('/');

/** GET /v2/keys<key> from one endpoint. */
export function v2Get(ep: V2Endpoint, key: string, opts: { recursive?: boolean; timeoutMs?: number } = {}): Promise<V2Get> {
  const url = new URL(`/v2/keys${encodeKey(key)}${opts.recursive ? '?recursive=true' : ''}`, ep.url);
  const https = url.protocol === 'https:';
  const headers: Record<string, string> = {};
  if (ep.username) headers.authorization = `Basic ${Buffer.from(`${ep.username}:${ep.password ?? ''}`).toString('base64')}`;
  const tls = https ? {
    ...(ep.caFile ? { ca: readFileSync(ep.caFile) } : {}),
    ...(ep.certFile ? { cert: readFileSync(ep.certFile) } : {}),
    ...(ep.keyFile ? { key: readFileSync(ep.keyFile) } : {}),
    // through a tunnel the URL names 127.0.0.1: check the certificate against the real host
    ...(ep.serverName ? { checkServerIdentity: (_: string, cert: Parameters<typeof checkServerIdentity>[1]) => checkServerIdentity(ep.serverName!, cert) } : {}),
  } : {};
  return new Promise((resolve) => {
    const req = (https ? httpsRequest : httpRequest)(url, { method: 'GET', headers, timeout: opts.timeoutMs ?? 3000, ...tls }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(interpret(res.statusCode ?? 0, Buffer.concat(chunks).toString())));
      res.on('error', (e) => resolve({ kind: 'error', detail: e.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${(opts.timeoutMs ?? 3000) / 1000} s`)));
    req.on('error', (e) => resolve({ kind: 'error', detail: e.message }));
    req.end();
  });
}

/** etcd's v2 answers: JSON with `node`, or `{errorCode: 100}` for a missing key; anything else is not v2. */
export function interpret(status: number, body: string): V2Get {
  let json: { node?: V2Node; errorCode?: number; message?: string } | undefined;
  try {
    json = JSON.parse(body) as typeof json;
  } catch {
    json = undefined;
  }
  if (status === 200 && json?.node) return { kind: 'found', node: json.node };
  if (json?.errorCode === 100) return { kind: 'missing' };
  if (status === 404) return { kind: 'no-v2', detail: body.trim().slice(0, 80) || 'HTTP 404' };
  return { kind: 'error', detail: `HTTP ${status}: ${json?.message ?? body.trim().slice(0, 80)}` };
}

/** The first answer of the endpoints (tried in order; one that fails to answer is skipped). */
async function firstAnswer(eps: readonly V2Endpoint[], key: string, opts: { recursive?: boolean; timeoutMs?: number }): Promise<V2Get> {
  let last: V2Get = { kind: 'error', detail: 'no endpoint' };
  for (const ep of eps) {
    last = await v2Get(ep, key, opts);
    if (last.kind !== 'error') return last;
  }
  return last;
}

/** The leases of a v2 `subnets` directory listing (every lease key, its value and TTL). */
export function leasesOfListing(dir: V2Node | undefined): { leases: V2Lease[]; skipped: string[] } {
  const leases: V2Lease[] = [];
  const skipped: string[] = [];
  for (const n of dir?.nodes ?? []) {
    const parsed = n.dir || n.value === undefined ? undefined : parseSubnetKey(n.key);
    if (!parsed) {
      skipped.push(n.key);
      continue;
    }
    leases.push({ key: n.key, subnet: parsed.subnet, value: n.value!, ...(n.ttl !== undefined ? { ttl: n.ttl } : {}) });
  }
  // v2 lists in creation order: by subnet instead, for stable messages
  leases.sort((a, b) => a.subnet.ip - b.subnet.ip);
  return { leases, skipped };
}

/**
 * flannel's data in the v2 store under `prefix` (one recursive GET: config and leases): undefined when v2
 * has no config there (or etcd serves no v2 API, or does not answer it: this is a hint for a message, never
 * a reason to fail).
 */
export async function readV2Flannel(eps: readonly V2Endpoint[], prefix: string, timeoutMs = 3000): Promise<V2FlannelData | undefined> {
  const r = await firstAnswer(eps, normalizePrefix(prefix), { recursive: true, timeoutMs });
  if (r.kind !== 'found') return undefined;
  const child = (key: string) => r.node.nodes?.find((n) => n.key === key);
  const config = child(configKey(prefix))?.value;
  if (config === undefined) return undefined;
  return { config, ...leasesOfListing(child(subnetsPrefix(prefix))) };
}

/** What to tell the user when v3 has no config and v2 has one. */
export function configInV2Message(prefix: string, v2: { config: string; leases: readonly unknown[] }, who: 'cli' | 'agent'): string {
  const key = configKey(prefix);
  const what = `${key} is not in etcd's v3 store, but etcd's v2 API has it (${v2.config}; ${v2.leases.length} lease(s) under ${subnetsPrefix(prefix)}): ` +
    `it was written with ETCDCTL_API=2, and flannel ≥ 0.18 and flanprov read only the v3 API`;
  return who === 'cli'
    ? `${what}. Run \`flanprov up --adopt\` to copy the config and the leases to v3 (same subnets, same public IPs, TTLs kept; the v2 data is left alone), or copy the config yourself: ETCDCTL_API=3 etcdctl put ${key} '<the JSON>' (docs/adopt.md)`
    : `${what}: copy it to v3 (\`flanprov up --adopt\` copies the config and the leases; or ETCDCTL_API=3 etcdctl put ${key} '<the JSON>')`;
}
