/**
 * etcd v3 client factory shared by the CLI and the agent (etcd3 package, gRPC). TLS is used when
 * any of the TLS files is given or an endpoint is https:// (flannel silently ignored a lone CA file).
 * The password is passed to etcd3 only; `describeEtcd` is what goes into logs.
 */
import { readFileSync } from 'node:fs';
import type { Etcd3, IOptions } from 'etcd3';
import { dropIpServernameWarning } from './ip-servername-warning.js';
import { splitEndpoints } from './endpoints.js';

export interface EtcdConnectOptions {
  /** e.g. ["http://127.0.0.1:2379"]; comma-separated strings are split */
  endpoints: string[];
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  username?: string;
  password?: string;
  /** how long one connection attempt may take (default 3 s) */
  dialTimeoutMs?: number;
  /**
   * the gRPC deadline of every unary request that does not bring its own, including the auth token request
   * etcd3 makes by itself, so a dead or frozen endpoint fails a call instead of hanging it (default 5 s).
   * Streams (watches) are exempt: they live as long as the client.
   */
  callTimeoutMs?: number;
}

export const DEFAULT_CALL_TIMEOUT_MS = 5000;

// Re-exported for the callers that already hold the client module; the definitions need no etcd3 (endpoints.ts).
export { DEFAULT_ETCD_ENDPOINTS, DEFAULT_ETCD_PREFIX, splitEndpoints } from './endpoints.js';

/**
 * etcd3 is loaded at the first client instead of at start-up, which the CLI times to fall inside the wait
 * for the facts (phases/shared/gather-facts.ts). In the built CLI this require is of dist/etcd3.cjs, etcd3
 * and grpc-js in one file with the service definitions embedded (scripts/etcd3-embed.mjs): ~40 ms of CPU to
 * load against ~115 ms for node_modules' etcd3, which parses rpc.proto every run (docs/cli-startup.md).
 */
export function loadEtcd3(): typeof import('etcd3') {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('etcd3') as typeof import('etcd3');
}

export function createEtcdClient(o: EtcdConnectOptions): Etcd3 {
  const { Etcd3 } = loadEtcd3();
  const hosts = splitEndpoints(o.endpoints);
  const opts: IOptions = {
    hosts,
    dialTimeout: o.dialTimeoutMs ?? 3000,
    defaultCallOptions: defaultDeadline(o.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS),
    // grpc-js backs reconnects off up to 120 s by default: far too slow to notice etcd is back.
    grpcOptions: {
      'grpc.initial_reconnect_backoff_ms': 200,
      'grpc.max_reconnect_backoff_ms': 5000,
      'grpc.keepalive_time_ms': 15_000,
      'grpc.keepalive_timeout_ms': 5000,
    },
  };
  if (o.caFile || o.certFile || o.keyFile) {
    dropIpServernameWarning();
    const creds: { rootCertificate: Buffer; privateKey?: Buffer; certChain?: Buffer } = {
      // null root = the system's CAs (grpc's createSsl accepts it)
      rootCertificate: (o.caFile ? readFileSync(o.caFile) : null) as unknown as Buffer,
    };
    if (o.keyFile) creds.privateKey = readFileSync(o.keyFile);
    if (o.certFile) creds.certChain = readFileSync(o.certFile);
    opts.credentials = creds;
  }
  if (o.username) opts.auth = { username: o.username, password: o.password ?? '' };
  return new Etcd3(opts);
}

/** A log-safe one-liner: endpoints, TLS files, user name, and whether a password is set. */
export function describeEtcd(o: EtcdConnectOptions): string {
  const parts = [`endpoints=${splitEndpoints(o.endpoints).join(',')}`];
  const tls = o.caFile || o.certFile || o.keyFile;
  parts.push(tls ? `tls(ca=${o.caFile ?? '-'} cert=${o.certFile ?? '-'} key=${o.keyFile ?? '-'})` : 'tls=off');
  if (o.username) parts.push(`user=${o.username} password=${o.password ? '<set>' : '<empty>'}`);
  return parts.join(' ');
}

/** etcd3's call-options factory: unary calls get a deadline `ms` from when they start, streams none. */
function defaultDeadline(ms: number): NonNullable<IOptions['defaultCallOptions']> {
  return (ctx) => (ctx.isStream ? {} : deadline(ms));
}

/** gRPC call options with a deadline, so a dead endpoint fails a call instead of hanging it. */
export function deadline(ms: number): { deadline: Date } {
  return { deadline: new Date(Date.now() + ms) };
}
