/**
 * The agent's etcd session: one client for everything (gRPC keepalive on its channel, a deadline on every
 * unary call), the lease store, access to the config key, and the liveness check that says whether etcd
 * answers (etcd-liveness.ts).
 *
 * The etcd stack (etcd3, grpc-js, protobufjs and the embedded etcd protos) costs ~100 ms of CPU just to
 * evaluate — the largest part of start-to-ready. `openEtcdSession` loads it only once the first kernel
 * reads (child processes) are under way, so they run on another core meanwhile; `-version`/`-help` never
 * load it. This module itself imports etcd code as types only, so nothing of it is evaluated earlier.
 */
import type { Etcd3 } from 'etcd3';
import type { EtcdConnectOptions } from '../etcd/client.js';
import type { LeaseStore } from '../etcd/lease-store.js';
import { configKey } from '../etcd/keys.js';
import type { AgentEtcdStatus } from '../network/agent-status.js';
import type { AgentFlags } from './flags.js';
import type { ConfigSource } from './config-follower.js';
import { EtcdLiveness } from './etcd-liveness.js';
import type { AgentLogger } from './log.js';

async function loadEtcd() {
  const [client, configStore, leaseStore, errors] = await Promise.all([
    import('../etcd/client.js'), import('../etcd/config-store.js'), import('../etcd/lease-store.js'), import('../etcd/errors.js'),
  ]);
  return { ...client, ...configStore, ...leaseStore, ...errors };
}
type EtcdModules = Awaited<ReturnType<typeof loadEtcd>>;

/** Every unary call gets createEtcdClient's default deadline (5 s) unless it brings its own (the probe). */
function connectOptions(f: AgentFlags, endpoints: string[]): EtcdConnectOptions {
  const o: EtcdConnectOptions = { endpoints };
  if (f.etcdCafile) o.caFile = f.etcdCafile;
  if (f.etcdCertfile) o.certFile = f.etcdCertfile;
  if (f.etcdKeyfile) o.keyFile = f.etcdKeyfile;
  if (f.etcdUsername) o.username = f.etcdUsername;
  if (f.etcdPassword) o.password = f.etcdPassword;
  return o;
}

const V2_CHECK_MS = 30_000;

export class EtcdSession {
  readonly store: LeaseStore;
  readonly config: ConfigSource;
  readonly liveness: EtcdLiveness;
  /** log-safe: endpoints, TLS files, user (never the password) */
  readonly description: string;

  /** the v2 look-up for the "config not found" message: at most one every V2_CHECK_MS */
  private v2Hint: { at: number; message: Promise<string | undefined> } | undefined;

  constructor(private readonly etcd: EtcdModules, private readonly client: Etcd3, private readonly opts: EtcdConnectOptions, prefix: string, log: AgentLogger) {
    this.description = etcd.describeEtcd(opts);
    this.store = new etcd.LeaseStore(client, prefix);
    const endpoints = opts.endpoints.join(',');
    this.liveness = new EtcdLiveness({ probe: () => this.probe(prefix), log, describe: endpoints });
    this.config = this.configSource(prefix);
  }

  /**
   * Cheap and linearizable (so a member cut off from its quorum counts as not answering): count the
   * config key. An error that is etcd's answer (a permission, say) still means etcd answers.
   */
  private async probe(prefix: string): Promise<void> {
    try {
      await this.client.kv.range({ key: Buffer.from(configKey(prefix)), count_only: true }, this.etcd.deadline(this.liveness.timeoutMs));
    } catch (e) {
      if (this.etcd.isEtcdUnavailable(e)) throw e;
    }
  }

  private configSource(prefix: string): ConfigSource {
    const { readConfig, watchConfig, configNotFoundMessage } = this.etcd;
    return {
      // flannel's wording names the prefix as given on the command line
      key: `${prefix}/config`,
      read: async () => {
        try {
          const c = await readConfig(this.client, prefix);
          this.liveness.answered();
          return c;
        } catch (e) {
          if (this.etcd.isEtcdUnavailable(e)) this.liveness.failed((e as Error).message);
          else this.liveness.answered();
          throw e;
        }
      },
      watch: (from, onChange, onError) => watchConfig(this.client, prefix, from ? String(BigInt(from) + 1n) : undefined, onChange, onError),
      notFoundMessage: async () => (await this.configInV2(prefix)) ?? configNotFoundMessage(prefix),
    };
  }

  /**
   * Whether etcd's v2 API holds the config the v3 store lacks (a cluster built before flannel 0.18): then
   * the message says so instead of flannel's guess. Checked at start and every 30 s while waiting.
   */
  private configInV2(prefix: string): Promise<string | undefined> {
    if (this.v2Hint && Date.now() - this.v2Hint.at < V2_CHECK_MS) return this.v2Hint.message;
    const message = import('../etcd/v2-store.js').then(async (v2) => {
      const data = await v2.readV2Flannel(v2.v2EndpointsOf(this.opts), prefix, 2000).catch(() => undefined);
      return data ? v2.configInV2Message(prefix, data, 'agent') : undefined;
    });
    this.v2Hint = { at: Date.now(), message };
    return message;
  }

  status(): AgentEtcdStatus {
    return this.liveness.status();
  }

  close(): void {
    this.liveness.stop();
    this.client.close();
  }
}

/** Loads the etcd stack and connects (lazily: gRPC connects on the first call). */
export async function openEtcdSession(f: AgentFlags, log: AgentLogger): Promise<EtcdSession> {
  const etcd = await loadEtcd();
  const opts = connectOptions(f, etcd.splitEndpoints(f.etcdEndpoints));
  if (!f.etcdCafile && !f.etcdCertfile && !f.etcdKeyfile && !opts.endpoints.some((e) => e.startsWith('https:'))) {
    log.info('no certificate provided: connecting to etcd with http. This is insecure');
  }
  return new EtcdSession(etcd, etcd.createEtcdClient(opts), opts, f.etcdPrefix, log);
}
