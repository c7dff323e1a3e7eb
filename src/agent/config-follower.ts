/**
 * Follows `<prefix>/config`: waits for it at start (flannel's "Couldn't fetch network config" loop),
 * then watches it. Each new value is parsed; an invalid one or a deletion is logged and the config in
 * force kept. Valid values are applied one at a time and the latest wins (values arriving while one is
 * being applied are folded into one more round). What a change means is network/config-compare's
 * `classifyConfigChange`: nothing; a backend type change, which the backend switch applies live; or a
 * change that needs a restart, noted for /status (pendingConfigChange) and the log, never applied.
 *
 * `resync()` re-reads the key after etcd was unreachable and restarts the watch from what it read, so a
 * change made during the outage is applied even if the old watch stream never recovers.
 */
import type { ConfigWatch, StoredConfig } from '../etcd/config-store.js';
import { classifyConfigChange } from '../network/config-compare.js';
import { parseNetworkConfig } from '../network/config.js';
import type { NetworkConfig } from '../network/types.js';
import type { Logger } from './backends/backend.js';
import type { SwitchOutcome } from './backend-switch.js';

/** The etcd side of the config key (the etcd session implements it; unit tests fake it). */
export interface ConfigSource {
  /** the key's name, for logs */
  readonly key: string;
  read(): Promise<StoredConfig | undefined>;
  /** changes after `fromRevision` (exclusive); undefined text = deleted */
  watch(fromRevision: string | undefined, onChange: (text: string | undefined, modRevision: string) => void, onError: (err: Error) => void): ConfigWatch;
  /** flannel's message for a missing key (says so when etcd's v2 store has the config) */
  notFoundMessage(): Promise<string>;
}

export interface ConfigFollowerOptions {
  source: ConfigSource;
  log: Logger;
  /** the config in force (its backend is the primary one) */
  inForce(): NetworkConfig | undefined;
  /** a live backend change (the backend switch) */
  switchBackend(next: NetworkConfig, revision: string | undefined): Promise<SwitchOutcome>;
  /** start-up read loop and watch restarts wait this long between attempts (default 1000 ms) */
  retryMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class ConfigFollower {
  /** ModRevision of the newest value seen */
  revision: string | undefined;
  /** a change that needs a restart, in words (for /status); undefined when none */
  restartNeeded: string | undefined;
  private latest: NetworkConfig | undefined;
  /** the key is absent (deleted after start-up) */
  private deleted = false;
  private watch: ConfigWatch | undefined;
  private applying = false;
  private applyAgain = false;
  private stopped = false;
  private watchTimer: NodeJS.Timeout | undefined;

  constructor(private readonly o: ConfigFollowerOptions) {}

  private get retryMs(): number {
    return this.o.retryMs ?? 1000;
  }

  /**
   * Start-up: read until a valid config is there. Errors repeat every second (as flannel does); an
   * unchanged message is logged again only every 30 s. Undefined when stopped meanwhile.
   */
  async waitForFirst(): Promise<NetworkConfig | undefined> {
    let lastMsg = '';
    let lastAt = 0;
    while (!this.stopped) {
      let msg: string;
      try {
        const stored = await this.o.source.read();
        if (stored) {
          try {
            const cfg = parseNetworkConfig(stored.text);
            this.revision = stored.modRevision;
            this.latest = cfg;
            return cfg;
          } catch (e) {
            msg = `Couldn't fetch network config: ${(e as Error).message}`;
          }
        } else {
          msg = `Couldn't fetch network config: ${await this.o.source.notFoundMessage()}`;
        }
      } catch (e) {
        msg = `Couldn't fetch network config: ${(e as Error).message}`;
      }
      if (msg !== lastMsg || Date.now() - lastAt > 30_000) {
        this.o.log.warn(msg);
        lastMsg = msg;
        lastAt = Date.now();
      }
      await sleep(this.retryMs);
    }
    return undefined;
  }

  /** Watch for changes after the revision read at start (or by the last resync). */
  follow(): void {
    if (this.stopped) return;
    const from = this.revision;
    this.watch = this.o.source.watch(from, (text, rev) => this.onChange(text, rev), (err) => {
      this.o.log.warn(`config watch cancelled (${err.message}); watching again`);
      this.dropWatch();
      this.watchTimer = setTimeout(() => this.follow(), this.retryMs);
      this.watchTimer.unref();
    });
  }

  /** After an etcd outage: read the key now and watch again from there. Rejects when etcd does not answer. */
  async resync(): Promise<void> {
    if (this.stopped) return;
    const stored = await this.o.source.read();
    if (this.stopped) return;
    this.dropWatch();
    if (stored) this.onChange(stored.text, stored.modRevision);
    else if (!this.deleted) {
      this.deleted = true;
      this.o.log.warn(`network config ${this.o.source.key} was deleted; keeping the current one`);
    }
    this.follow();
  }

  private dropWatch(): void {
    if (this.watchTimer) clearTimeout(this.watchTimer);
    // not awaited: cancelling a watch whose stream is stuck waits for an answer that may never come
    void this.watch?.cancel().catch(() => undefined);
    this.watch = undefined;
  }

  private onChange(text: string | undefined, rev: string): void {
    // a resync and a resumed watch can both deliver a value: each revision counts once
    if (this.revision !== undefined && BigInt(rev) <= BigInt(this.revision)) return;
    this.revision = rev;
    this.deleted = text === undefined;
    if (text === undefined) {
      this.o.log.warn(`network config ${this.o.source.key} was deleted; keeping the current one`);
      return;
    }
    let cfg: NetworkConfig;
    try {
      cfg = parseNetworkConfig(text);
    } catch (e) {
      this.o.log.warn(`network config changed but is invalid, keeping the current one (${this.o.inForce()?.backendType}): ${(e as Error).message}`);
      return;
    }
    this.latest = cfg;
    this.kick();
  }

  /** Applies the newest config; changes arriving meanwhile are applied right after (latest wins). */
  private kick(): void {
    if (this.applying) {
      this.applyAgain = true;
      return;
    }
    this.applying = true;
    void (async () => {
      try {
        do {
          this.applyAgain = false;
          await this.applyLatest().catch((e: Error) => this.o.log.error(`applying the new network config failed: ${e.message}`));
        } while (this.applyAgain && !this.stopped);
      } finally {
        this.applying = false;
      }
    })();
  }

  private async applyLatest(): Promise<void> {
    const next = this.latest!;
    const cur = this.o.inForce();
    if (!cur) return;
    const ch = classifyConfigChange(cur, next);
    if (ch.kind === 'restart') {
      this.restartNeeded = `restart flanneld to apply: ${ch.what.join('; ')}`;
      this.o.log.warn(`network config changed (revision ${this.revision}) in ways that cannot be applied live: ${ch.what.join('; ')}. Keeping the current config; restart flanneld to apply it`);
      return;
    }
    this.restartNeeded = undefined;
    if (ch.kind === 'none') {
      this.o.log.info(`network config changed (revision ${this.revision}); nothing to apply`);
      return;
    }
    const r = await this.o.switchBackend(next, this.revision);
    if (r.kind === 'restart-needed') this.restartNeeded = r.note;
  }

  stop(): Promise<void> {
    this.stopped = true;
    if (this.watchTimer) clearTimeout(this.watchTimer);
    const w = this.watch;
    this.watch = undefined;
    return w ? w.cancel().catch(() => undefined) : Promise.resolve();
  }
}
