/**
 * The phase framework (k0sctl-like): a command is an ordered list of `Phase`s run by `runPhases()`
 * (runner.ts). Each phase works on all hosts in parallel with bounded concurrency through
 * `ctx.forEachHost()`, which records per-host status (ok / changed / failed / skipped) and what changed.
 * The runner stops at the first phase in which any host failed and names the failed hosts.
 *
 * Writing a phase:
 *
 *   export const installUnits: Phase = {
 *     title: 'Install units',
 *     async dryRun(ctx) {                    // optional; what would change, per host (touches nothing)
 *       await ctx.forEachHost(async (h, rec) => { rec.changed('flanneld.service would be written'); });
 *     },
 *     async run(ctx) {
 *       await ctx.forEachHost(async (h, rec) => {
 *         const r = await h.remote().runChecked(script);   // one script per host per phase
 *         if (r.stdout.includes('written')) rec.changed('flanneld.service');
 *       });
 *     },
 *   };
 *
 * Dry run: the runner calls `dryRun(ctx)` when a phase has one; phases marked `readOnly` (connect, facts,
 * preflight) are run normally; any other phase is reported as skipped ("no dry-run description").
 */
import type { ClusterSpec, HostSpec } from '../../inventory/types.js';
import type { RemoteHost, ConnectOptions } from '../../remote/types.js';
import type { Reporter } from './events.js';

/**
 * Facts gathered on a host. Empty here on purpose: the facts phase declares its fields with
 * module augmentation so every phase gets them typed:
 *
 *   declare module '../framework/types.js' { interface HostFacts { os?: string; dockerExecStart?: string } }
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface HostFacts {}

/**
 * State the phases of one command share: what the command line asked for (verify or not, --raise-mtu),
 * an etcd session, the switch being made, cluster-wide changes. Empty here on purpose, like HostFacts: the
 * module that owns a piece declares it with module augmentation, so every reader gets it typed and its
 * owner is found by its declaration (no string keys).
 */
// eslint-disable-next-line @typescript-eslint/no-empty-interface
export interface RunState {}

/** Options of a run, from the command line (cli/output/command-options.ts). */
export interface RunOptions {
  dryRun: boolean;
  /** max hosts worked on at once (--concurrency, default 30) */
  concurrency: number;
  /** max simultaneous uploads (--concurrent-uploads, default 5) */
  uploadConcurrency: number;
  verbose: boolean;
  connect: ConnectOptions;
  /** how long one etcd request may take before the command gives up on etcd (--etcd-timeout, default 5 s) */
  etcdTimeoutMs: number;
  /**
   * aborted by the first Ctrl-C / SIGTERM: the runner starts no new phase and no new host task; a phase
   * finishes or undoes what it has in flight (an upload is cut, a switch rolled back) and returns
   */
  signal?: AbortSignal;
}

/** One host during a run: its spec, its connection (after the connect phase) and its facts. */
export interface HostState {
  readonly name: string;
  readonly spec: HostSpec;
  /** set by the connect phase */
  conn?: RemoteHost;
  /** the connection; throws a clear internal error when the connect phase has not run */
  remote(): RemoteHost;
  facts: HostFacts;
  /** set when the host failed in an earlier phase of this run (later phases skip it) */
  failed?: string;
}

/** Records what a phase did on one host. */
export interface HostRecorder {
  /** something changed (or would change in a dry run): a short text, e.g. "flanneld.service written" */
  changed(what: string): void;
  /** nothing to do on this host for this phase; reason shown with -v */
  skip(reason: string): void;
  /** a progress line (shown on a TTY and with -v, as a `log` event in JSON) */
  info(msg: string): void;
  readonly dryRun: boolean;
}

export interface ForEachOptions {
  /** which bound applies: 'hosts' (--concurrency) or 'uploads' (--concurrent-uploads); default 'hosts' */
  limit?: 'hosts' | 'uploads';
  /** the hosts to work on; default: every host that has not failed */
  hosts?: HostState[];
}

export interface PhaseContext {
  /** the command being run (up, check, ...) */
  readonly command: string;
  readonly cluster: ClusterSpec;
  /** every host of the run (after --limit), in inventory order */
  readonly hosts: HostState[];
  host(name: string): HostState;
  readonly options: RunOptions;
  readonly reporter: Reporter;
  /** state shared between the phases of one command (see RunState) */
  readonly state: RunState;
  /** the phase being run (title) */
  readonly phase: string;
  /**
   * Run fn for each host, at most N at a time. An exception marks that host failed for this phase (the
   * others continue); when all are done, forEachHost throws PhaseFailedError naming the failed hosts.
   */
  forEachHost(fn: (host: HostState, rec: HostRecorder) => Promise<void>, opts?: ForEachOptions): Promise<void>;
  /** a log line for the phase (not tied to a host) */
  log(level: 'info' | 'warn' | 'debug', message: string): void;
}

export interface Phase {
  readonly title: string;
  /** true for phases that change nothing (connect, facts, preflight, verify): they run in a dry run */
  readonly readOnly?: boolean;
  /** false = skip the whole phase (reported as skipped) */
  shouldRun?(ctx: PhaseContext): boolean | Promise<boolean>;
  /** describe per host what would change, touching nothing (use ctx.forEachHost + rec.changed) */
  dryRun?(ctx: PhaseContext): Promise<void>;
  run(ctx: PhaseContext): Promise<void>;
  /** called (in reverse order) for every phase that ran when a later one failed, and at the end; e.g. close tunnels */
  cleanUp?(ctx: PhaseContext): Promise<void>;
}

/** What runPhases() returns (the reporter has already received every event). */
export interface RunReport {
  ok: boolean;
  dryRun: boolean;
  ms: number;
  hosts: import('./events.js').HostSummary[];
  phases: { title: string; status: import('./events.js').PhaseStatus; ms: number; failedHosts: string[] }[];
  /** the error that stopped the run (PhaseFailedError or another FlanprovError) */
  error?: unknown;
}
