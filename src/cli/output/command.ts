/**
 * What every cluster command shares (DESIGN §1): the common options, the reporter choice, loading the
 * inventory, running phases, the final summary, closing connections, and the ONE place that turns an error
 * into an exit code (util/errors.ts's `exitCodeOf`). `up`, `check`, `status`, `down`, `switch-backend` use `runCommand`.
 */
import { ExitCode, FlanprovError, describeError, exitCodeOf } from '../../util/errors.js';
import { loadInventory } from '../../inventory/load.js';
import type { ClusterSpec } from '../../inventory/types.js';
import { makeHostStates, reportExitCode, runPhases } from '../../phases/framework/runner.js';
import type { HostState, Phase, RunOptions, RunState } from '../../phases/framework/types.js';
import type { Reporter } from '../../phases/framework/events.js';
import { JsonReporter } from './json.js';
import { PlainReporter } from './plain.js';
import { handleInterrupts } from './interrupt.js';
import { RunLog, TeeReporter } from './run-log.js';
import { inventorySources, type CommonOpts } from './options.js';

/** listr2 on a TTY (loaded only then), plain lines elsewhere (CI, pipes, NO_TTY), JSON lines with --output json. */
export async function createReporter(opts: Pick<CommonOpts, 'output' | 'verbose'>, out: NodeJS.WriteStream = process.stdout): Promise<Reporter> {
  if (opts.output === 'json') return new JsonReporter(out, !!opts.verbose);
  const tty = out.isTTY && !process.env.CI && process.env.TERM !== 'dumb';
  if (!tty) return new PlainReporter(out, !!opts.verbose);
  const { ListrReporter } = await import('./listr.js');
  return new ListrReporter(out, !!opts.verbose);
}

/** --etcd-timeout: "5s", "1500ms", "2m" or plain seconds; 100 ms to 10 min. */
export function parseEtcdTimeout(v: string | undefined): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec((v ?? '5s').trim());
  const ms = m ? Number(m[1]) * (m[2] === 'ms' ? 1 : m[2] === 'm' ? 60_000 : 1000) : NaN;
  if (!(ms >= 100 && ms <= 600_000)) throw new FlanprovError(`--etcd-timeout must be a duration from 100ms to 10m (e.g. 5s, 1500ms), got "${v}"`, ExitCode.INVALID_INPUT);
  return ms;
}

function positiveInt(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new FlanprovError(`${flag} must be a positive integer, got "${v}"`, ExitCode.INVALID_INPUT);
  return n;
}

export function toRunOptions(opts: CommonOpts): RunOptions {
  return {
    dryRun: !!opts.dryRun,
    concurrency: positiveInt(opts.concurrency, '--concurrency'),
    uploadConcurrency: positiveInt(opts.concurrentUploads, '--concurrent-uploads'),
    verbose: !!opts.verbose,
    connect: { ...(opts.acceptNewHostKeys ? { acceptNewHostKeys: true } : {}) },
    etcdTimeoutMs: parseEtcdTimeout(opts.etcdTimeout),
  };
}

/** Emit an error event for `err` (message, where, hint, exit code). */
export function reportError(reporter: Reporter, err: unknown, hosts?: string[]): number {
  const code = exitCodeOf(err);
  reporter.emit({
    event: 'error', message: err instanceof FlanprovError ? err.message : describeError(err), exitCode: code,
    ...(err instanceof FlanprovError && err.where ? { where: err.where } : {}),
    ...(err instanceof FlanprovError && err.hint ? { hint: err.hint } : {}),
    ...(hosts?.length ? { hosts } : {}),
  });
  return code;
}

export interface RunCommandInput {
  command: string;
  opts: CommonOpts;
  phases: Phase[];
  /** the phases' shared state with what the command line set (ctx.state) */
  state?: RunState;
  /** called after a successful run (e.g. to print a table) */
  after?: (cluster: ClusterSpec, state: RunState, reporter: Reporter) => void | Promise<void>;
  /** override the reporter (tests) */
  reporter?: Reporter;
  /** the cluster from elsewhere than -i (adopt: the hosts of --hosts); errors it throws are reported like the inventory's */
  cluster?: () => ClusterSpec;
  /** where the reporter writes (default stdout; adopt's `--write-inventory -` keeps stdout for the inventory) */
  reporterStream?: NodeJS.WriteStream;
}

/** Every secret value a loaded inventory holds (they come from the environment), for the run log's redaction. */
function secretsOf(cluster: ClusterSpec): (string | undefined)[] {
  const out: (string | undefined)[] = [cluster.etcd.password];
  for (const h of cluster.hosts) {
    const c = h.connection as { becomePassword?: string; password?: string };
    out.push(c.becomePassword, c.password);
  }
  return out;
}

/** Load the inventory, run the phases, emit error + summary, close connections; returns the exit code. */
export async function runCommand(inp: RunCommandInput): Promise<number> {
  const { opts } = inp;
  const runLog = inp.reporter ? undefined : RunLog.open(inp.command);
  const ui = inp.reporter ?? await createReporter(opts, inp.reporterStream);
  const reporter: Reporter = runLog ? new TeeReporter([ui, runLog]) : ui;
  const t0 = Date.now();
  // a failed run says where its log is (in the summary for JSON readers, as a line for people)
  const logRef = (code: number) => {
    if (!runLog || code === ExitCode.OK) return {};
    reporter.emit({ event: 'log', level: 'info', message: `run log: ${runLog.path}` });
    return { runLog: runLog.path };
  };
  let hosts: HostState[] = [];
  let code: number = ExitCode.OK;
  const interrupt = handleInterrupts((sig) => reporter.emit({
    event: 'log', level: 'warn', message: `${sig}: finishing or undoing the step in flight, then stopping (${sig === 'SIGINT' ? 'Ctrl-C' : sig} again stops at once)`,
  }));
  try {
    const options = { ...toRunOptions(opts), signal: interrupt.signal };
    const cluster = inp.cluster ? inp.cluster() : loadInventory(inventorySources(opts), { ...(opts.limit ? { limit: opts.limit } : {}), ...(opts.sshConfig ? { sshConfigFile: opts.sshConfig } : {}) });
    runLog?.addSecrets(secretsOf(cluster));
    hosts = makeHostStates(cluster);
    const state = inp.state ?? {};
    const report = await runPhases({ command: inp.command, cluster, phases: inp.phases, options, reporter, hosts, state });
    code = reportExitCode(report);
    if (report.error) reportError(reporter, report.error, report.hosts.filter((h) => h.status === 'failed').map((h) => h.host));
    else await inp.after?.(cluster, state, reporter);
    reporter.emit({ event: 'summary', command: inp.command, ok: report.ok, dryRun: options.dryRun, exitCode: code, ms: Date.now() - t0, hosts: report.hosts, ...logRef(code) });
  } catch (err) {
    code = reportError(reporter, err);
    reporter.emit({ event: 'summary', command: inp.command, ok: false, dryRun: !!opts.dryRun, exitCode: code, ms: Date.now() - t0, hosts: [], ...logRef(code) });
  } finally {
    interrupt.dispose();
    await Promise.allSettled(hosts.map((h) => h.conn?.close()));
    await reporter.close();
  }
  return code;
}
