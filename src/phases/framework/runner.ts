/**
 * Runs an ordered list of phases (see types.ts): times each phase and host, records per-host status and
 * changes, stops at the first phase in which a host failed, supports dry-run, calls cleanUp hooks.
 */
import { ExitCode, FlanprovError, InterruptedError, exitCodeOf } from '../../util/errors.js';
import type { ClusterSpec, HostSpec } from '../../inventory/types.js';
import type { HostPhaseResult, HostStatus, HostSummary, PhaseStatus, Reporter } from './events.js';
import { Limiter } from './limit.js';
import type {
  ForEachOptions, HostRecorder, HostState, Phase, PhaseContext, RunOptions, RunReport, RunState,
} from './types.js';

/** A phase failed on one or more hosts. Exit code: the hosts' own (3 unreachable, 5 verify), else 4. */
export class PhaseFailedError extends FlanprovError {
  constructor(
    readonly phase: string,
    readonly failures: { host: string; error: unknown }[],
  ) {
    const names = failures.map((f) => f.host).join(', ');
    const first = failures[0]?.error;
    const code = first instanceof FlanprovError ? first.exitCode : ExitCode.STEP_FAILED;
    const detail = failures.map((f) => `  ${f.host}: ${errorMessage(f.error, f.host)}`).join('\n');
    super(`phase "${phase}" failed on ${failures.length} host(s): ${names}\n${detail}`, code);
    this.name = 'PhaseFailedError';
  }
}

/**
 * An error's text with its "where" in front — except when the text is shown for `host` and "where" is that
 * host's name (per-host errors carry it): failure lists already name the host ("h1: h1: …" otherwise).
 */
export function errorMessage(err: unknown, host?: string): string {
  if (err instanceof FlanprovError) return `${err.where && err.where !== host ? `${err.where}: ` : ''}${err.message}`;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Creates the per-host state objects for a cluster. */
export function makeHostStates(cluster: ClusterSpec): HostState[] {
  return cluster.hosts.map(makeHostState);
}

/** The state of one host (also for hosts a command adds to the run, e.g. etcd members that run no agent). */
export function makeHostState(spec: HostSpec): HostState {
  const st: HostState = {
    name: spec.name,
    spec,
    facts: {},
    remote() {
      if (!st.conn) throw new Error(`internal: no connection to ${spec.name} (the connect phase has not run)`);
      return st.conn;
    },
  };
  return st;
}

interface HostAcc { status: HostStatus; changes: string[]; ms: number; failedPhase?: string; message?: string }

const rank: Record<HostStatus, number> = { skipped: 0, ok: 1, changed: 2, failed: 3 };

export interface RunPhasesInput {
  command: string;
  cluster: ClusterSpec;
  phases: Phase[];
  options: RunOptions;
  reporter: Reporter;
  /** reuse host states (e.g. to keep connections across two runs); default: fresh from the cluster */
  hosts?: HostState[];
  /** the phases' shared state, with what the command line set (default: empty) */
  state?: RunState;
}

export async function runPhases(input: RunPhasesInput): Promise<RunReport> {
  const { cluster, phases, options, reporter, command } = input;
  const hosts = input.hosts ?? makeHostStates(cluster);
  const state = input.state ?? {};
  const hostLimiter = new Limiter(options.concurrency);
  const uploadLimiter = new Limiter(options.uploadConcurrency);
  const acc = new Map<string, HostAcc>(hosts.map((h) => [h.name, { status: 'ok', changes: [], ms: 0 }]));
  const report: RunReport = { ok: true, dryRun: options.dryRun, ms: 0, hosts: [], phases: [] };
  const ran: { phase: Phase; ctx: PhaseContext }[] = [];
  const extra: HostState[] = [];
  const t0 = Date.now();
  reporter.emit({ event: 'run.start', command, hosts: hosts.map((h) => h.name), dryRun: options.dryRun });

  for (const phase of phases) {
    if (options.signal?.aborted) {
      report.ok = false;
      report.error = interrupted(options.signal, phase.title);
      break;
    }
    const results = new Map<string, HostPhaseResult>();
    const ctx = makeContext(phase.title);
    const pt0 = Date.now();
    let status: PhaseStatus = 'ok';
    let error: unknown;
    const live = hosts.filter((h) => !h.failed);
    const tripsBefore = roundTripCounts(hosts);
    // the controller's own CPU in the phase (user + system): what grows with the fleet on our side
    const cpuBefore = process.cpuUsage();
    reporter.emit({ event: 'phase.start', phase: phase.title, hosts: live.map((h) => h.name) });
    try {
      if (phase.shouldRun && !(await phase.shouldRun(ctx))) {
        status = 'skipped';
      } else if (options.dryRun && !phase.readOnly) {
        if (phase.dryRun) await phase.dryRun(ctx);
        else {
          status = 'skipped';
          ctx.log('debug', 'skipped in a dry run (the phase has no dry-run description)');
        }
        ran.push({ phase, ctx });
      } else {
        ran.push({ phase, ctx });
        await phase.run(ctx);
      }
    } catch (err) {
      error = err;
      status = 'failed';
    }
    const ms = Date.now() - pt0;
    // A phase-wide error that names hosts (a preflight refusal): each of them failed, with its own reason.
    if (error instanceof FlanprovError && error.hostMessages) {
      for (const [name, message] of error.hostMessages) {
        const h = hosts.find((x) => x.name === name);
        if (!h || results.get(name)?.status === 'failed') continue;
        const result: HostPhaseResult = { host: name, status: 'failed', changes: [], message, ms };
        results.set(name, result);
        h.failed = `${phase.title}: ${message}`;
        reporter.emit({ event: 'host.result', phase: phase.title, ...result });
        const a = acc.get(name)!;
        a.status = 'failed';
        a.failedPhase = phase.title;
        a.message = message;
      }
    }
    if (status !== 'failed' && status !== 'skipped' && [...results.values()].some((r) => r.status === 'changed')) status = 'changed';
    const failedHosts = [...results.values()].filter((r) => r.status === 'failed').map((r) => r.host);
    if (error && !(error instanceof PhaseFailedError)) {
      // A phase-wide error (not tied to one host's forEachHost callback), e.g. etcd seeding.
      reporter.emit({ event: 'log', level: 'warn', phase: phase.title, message: errorMessage(error) });
    }
    const roundTrips = roundTripDelta(tripsBefore, roundTripCounts([...hosts, ...extra]));
    const cpu = process.cpuUsage(cpuBefore);
    const cpuMs = Math.round((cpu.user + cpu.system) / 1000);
    reporter.emit({ event: 'phase.end', phase: phase.title, status, ms, ...(failedHosts.length ? { failedHosts } : {}),
      ...(Object.keys(roundTrips).length ? { roundTrips } : {}), ...(status !== 'skipped' ? { cpuMs } : {}) });
    report.phases.push({ title: phase.title, status, ms, failedHosts });
    if (options.signal?.aborted) {
      // the phase in flight has finished (or undone) its work; what failed in it stays in the host results
      report.ok = false;
      report.error = interrupted(options.signal, phases[phases.indexOf(phase) + 1]?.title, phase.title);
      break;
    }
    if (error) {
      report.ok = false;
      report.error = error;
      // A phase-wide error leaves host statuses as they are: the error event names what failed.
      break;
    }

    function makeContext(title: string): PhaseContext {
      const c: PhaseContext = {
        command, cluster, hosts, options, reporter, state, phase: title,
        host(name: string) {
          const h = hosts.find((x) => x.name === name);
          if (!h) throw new Error(`internal: unknown host ${name}`);
          return h;
        },
        log(level, message) {
          if (level === 'debug' && !options.verbose) return;
          reporter.emit({ event: 'log', level, message, phase: title });
        },
        async forEachHost(fn, opts?: ForEachOptions) {
          const targets = opts?.hosts ?? hosts.filter((h) => !h.failed);
          const limiter = opts?.limit === 'uploads' ? uploadLimiter : hostLimiter;
          const failures: { host: string; error: unknown }[] = [];
          await Promise.all(targets.map((h) => limiter.run(async () => {
            const ht0 = Date.now();
            const prev = results.get(h.name);
            const changes: string[] = prev ? [...prev.changes] : [];
            let skipped: string | undefined;
            const rec: HostRecorder = {
              dryRun: options.dryRun,
              changed(what) {
                changes.push(what);
                reporter.emit({ event: 'host.change', phase: title, host: h.name, change: what, dryRun: options.dryRun });
              },
              skip(reason) { skipped = reason; },
              info(msg) { reporter.emit({ event: 'log', level: 'info', message: msg, host: h.name, phase: title }); },
            };
            let result: HostPhaseResult;
            try {
              // after an interrupt no host starts this phase's work (the ones under way finish it)
              if (options.signal?.aborted) skipped = 'interrupted before it started here';
              else await fn(h, rec);
              const status: HostStatus = changes.length ? 'changed' : skipped ? 'skipped' : 'ok';
              result = { host: h.name, status, changes, ms: Date.now() - ht0 + (prev?.ms ?? 0), ...(skipped && !changes.length ? { message: skipped } : {}) };
            } catch (err) {
              failures.push({ host: h.name, error: err });
              h.failed = `${title}: ${errorMessage(err, h.name)}`;
              result = { host: h.name, status: 'failed', changes, ms: Date.now() - ht0 + (prev?.ms ?? 0), message: errorMessage(err, h.name) };
            }
            results.set(h.name, result);
            reporter.emit({ event: 'host.result', phase: title, ...result });
            // a host a phase added to the run (forEachHost's `hosts`) gets its summary row too
            if (!acc.has(h.name)) { acc.set(h.name, { status: 'ok', changes: [], ms: 0 }); extra.push(h); }
            const a = acc.get(h.name)!;
            a.ms += Date.now() - ht0;
            a.changes.push(...result.changes.slice(prev?.changes.length ?? 0));
            if (rank[result.status] > rank[a.status] && result.status !== 'skipped') a.status = result.status;
            if (result.status === 'failed') { a.failedPhase = title; a.message = result.message; }
          })));
          if (failures.length) {
            failures.sort((x, y) => x.host.localeCompare(y.host));
            throw new PhaseFailedError(title, failures);
          }
        },
      };
      return c;
    }
  }

  // cleanUp hooks, in reverse order; their errors are reported but do not change the outcome.
  for (const { phase, ctx } of ran.reverse()) {
    if (!phase.cleanUp) continue;
    try { await phase.cleanUp(ctx); } catch (err) {
      reporter.emit({ event: 'log', level: 'warn', phase: phase.title, message: `clean-up failed: ${errorMessage(err)}` });
    }
  }
  report.ms = Date.now() - t0;
  report.hosts = [...hosts, ...extra].map((h): HostSummary => {
    const a = acc.get(h.name)!;
    return { host: h.name, status: a.status, changes: a.changes, ms: a.ms,
      ...(a.failedPhase ? { failedPhase: a.failedPhase } : {}), ...(a.message ? { message: a.message } : {}) };
  });
  return report;
}

/** Each connected host's request count so far (hosts the connect phase has not reached yet are left out). */
function roundTripCounts(hosts: readonly HostState[]): Map<string, number> {
  return new Map(hosts.flatMap((h) => (h.conn ? [[h.name, h.conn.roundTrips()] as const] : [])));
}

/** The requests a phase made per host: a host connected during the phase counts from 0. */
export function roundTripDelta(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, n] of after) out[name] = n - (before.get(name) ?? 0);
  return out;
}

/** The error of an interrupted run: what ran last, what was not started. */
function interrupted(signal: AbortSignal, next: string | undefined, last?: string): InterruptedError {
  const why = typeof signal.reason === 'string' ? signal.reason : 'interrupted';
  const parts = [`${why}:`];
  if (last) parts.push(`"${last}" was finished or undone,`);
  parts.push(next ? `nothing was started after it (next: "${next}")` : 'nothing was started after it');
  return new InterruptedError(parts.join(' '), 'the hosts are as the summary says; running the same command again converges them');
}

/** The exit code of a finished run: 0, or the error's (PhaseFailedError carries the hosts' code). */
export function reportExitCode(report: RunReport): number {
  return report.ok ? ExitCode.OK : exitCodeOf(report.error);
}

