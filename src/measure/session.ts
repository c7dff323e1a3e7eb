/**
 * A continuous cross-host measurement: start a namespace and pingers on every host (every peer, every
 * `intervalMs`), let it run across whatever the caller does, then stop it and compute per-direction loss
 * and gaps. Hosts are reached through the run's existing SSH connections (RemoteHost).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { RemoteHost } from '../remote/types.js';
import type { Ipv4Net } from '../network/types.js';
import { StepFailedError } from '../util/errors.js';
import { jsonOr, parseSections, section, sectionsNamed } from '../remote/sections.js';
import { parsePingLog } from './ping-log.js';
import { pairStats, summarize, type MeasureSummary, type PairStats } from './gaps.js';
import { abortScript, setupScript, startPingersScript, stopScript, warmupScript, type PingerTarget } from './scripts.js';

export interface MeasureHost {
  name: string;
  remote: RemoteHost;
  /** the host's flannel subnet (from subnet.env) */
  subnet: Ipv4Net;
}

export interface MeasureOptions {
  intervalMs: number;
  /** pingers end by themselves after this long (safety net if flanprov dies), default 1800 */
  maxSeconds?: number;
  /** how long to wait for every pair's first reply before giving up, default 5 */
  warmupSeconds?: number;
  /** longest acceptable gap for `withinTarget`, default 1000 ms */
  targetGapMs?: number;
  /** keep every pinger's raw output here as `<from>-<to>.log` (for looking at a loss packet by packet) */
  keepLogsDir?: string;
}

export interface MeasureResult extends MeasureSummary {
  intervalMs: number;
  /** unix seconds when the pingers were started and stopped */
  startedAt: number;
  stoppedAt: number;
  /** hosts whose logs could not be collected (their pairs show as incomplete) */
  problems: string[];
}

interface HostRun {
  host: MeasureHost;
  ip: string;
  targets: (PingerTarget & { host: string })[];
}

export class Measurement {
  private stopped = false;

  private constructor(private readonly runs: HostRun[], readonly options: MeasureOptions, readonly startedAt: number) {}

  /**
   * Sets up every host, then starts every pinger, then waits until each pair has answered once. Anything
   * failing here is undone on every host before the error is thrown (nothing is left running).
   */
  static async start(hosts: readonly MeasureHost[], options: MeasureOptions): Promise<Measurement> {
    const prepared: MeasureHost[] = [];
    try {
      const addrs = await Promise.all(hosts.map(async (h) => {
        const r = await h.remote.run(setupScript(h.subnet), { timeoutMs: 30_000 });
        prepared.push(h);
        const j = jsonOr<{ addr_info?: { family: string; local: string }[] }[]>(section(parseSections(r.stdout), 'addr')?.body, []);
        const ip = j[0]?.addr_info?.find((a) => a.family === 'inet')?.local;
        if (r.code !== 0 || !ip) throw new StepFailedError(`measurement namespace setup failed: ${r.stderr.trim() || 'no address'}`, h.name);
        return ip;
      }));
      const runs: HostRun[] = hosts.map((h, i) => ({
        host: h,
        ip: addrs[i]!,
        targets: hosts.flatMap((o, j) => (o === h ? [] : [{ id: `t${j}`, ip: addrs[j]!, host: o.name }])),
      }));
      const maxSeconds = options.maxSeconds ?? 1800;
      await Promise.all(runs.map(async (r) => {
        const res = await r.host.remote.run(startPingersScript(r.targets, options.intervalMs, maxSeconds), { timeoutMs: 30_000 });
        if (res.code !== 0) throw new StepFailedError(`starting the pingers failed: ${res.stderr.trim()}`, r.host.name);
      }));
      const startedAt = Date.now() / 1000;
      const silent = await Promise.all(runs.map(async (r) => {
        const res = await r.host.remote.run(warmupScript(r.targets, options.warmupSeconds ?? 5), { timeoutMs: 60_000 });
        const ids = (section(parseSections(res.stdout), 'silent')?.body ?? '').trim().split(/\s+/).filter(Boolean);
        return ids.map((id) => `${r.host.name} → ${r.targets.find((t) => t.id === id)?.host ?? id}`);
      }));
      const bad = silent.flat();
      if (bad.length) {
        throw new StepFailedError(`the measurement's baseline fails: no reply within ${options.warmupSeconds ?? 5} s for ${bad.join(', ')} (the cluster does not carry traffic between these hosts before anything changes)`);
      }
      return new Measurement(runs, options, startedAt);
    } catch (e) {
      await Promise.all(prepared.map((h) => h.remote.run(abortScript(), { timeoutMs: 30_000 }).catch(() => undefined)));
      throw e;
    }
  }

  /** Stops every pinger, collects the logs, removes everything; the figures per direction. */
  async stop(): Promise<MeasureResult> {
    if (this.stopped) throw new Error('internal: measurement already stopped');
    this.stopped = true;
    const stoppedAt = Date.now() / 1000;
    const pairs: PairStats[] = [];
    const problems: string[] = [];
    await Promise.all(this.runs.map(async (r) => {
      let out = '';
      try {
        const res = await r.host.remote.run(stopScript(), { timeoutMs: 120_000 });
        out = res.stdout;
      } catch (e) {
        problems.push(`${r.host.name}: ${(e as Error).message}`);
      }
      const logs = new Map(sectionsNamed(parseSections(out), 'log').map((s) => [s.arg, s.body.trim()]));
      for (const t of r.targets) {
        const b64 = logs.get(t.id);
        const text = b64 ? gunzipSync(Buffer.from(b64, 'base64')).toString('utf8') : '';
        if (this.options.keepLogsDir) {
          mkdirSync(this.options.keepLogsDir, { recursive: true });
          writeFileSync(join(this.options.keepLogsDir, `${r.host.name}-${t.host}.log`), text);
        }
        pairs.push(pairStats(r.host.name, t.host, parsePingLog(text), { intervalMs: this.options.intervalMs }));
      }
    }));
    const order = this.runs.map((r) => r.host.name);
    pairs.sort((a, b) => order.indexOf(a.from) - order.indexOf(b.from) || order.indexOf(a.to) - order.indexOf(b.to));
    return { ...summarize(pairs, this.options.targetGapMs), intervalMs: this.options.intervalMs, startedAt: this.startedAt, stoppedAt, problems };
  }

  /** Best-effort removal without results (used when the run is being torn down after an error). */
  async abort(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(this.runs.map((r) => r.host.remote.run(abortScript(), { timeoutMs: 30_000 }).catch(() => undefined)));
  }

  get isStopped(): boolean {
    return this.stopped;
  }
}
