/**
 * `flanprov up [INVENTORY]`: provision or converge every host, then verify with real cross-host pings.
 * Also the wiring shared by check / status / down (inventory, reporter, run, summary, exit code).
 */
import { Command, Option } from 'commander';
import { loadInventory } from '../inventory/load.js';
import type { ClusterSpec } from '../inventory/types.js';
import { makeHostStates, reportExitCode, runPhases } from '../phases/framework/runner.js';
import type { Phase, RunOptions } from '../phases/framework/types.js';
import type { FlanprovEvent, Reporter } from './output/events.js';
import { ExitCode, FlanprovError, describeError } from '../util/errors.js';
import { connectPhase, closeAll } from '../phases/up/connect.js';
import { factsPhase } from '../phases/up/facts.js';
import { preflightPhase } from '../phases/up/preflight.js';
import { seedEtcdPhase } from '../phases/up/seed-etcd.js';
import { pushAgentPhase } from '../phases/up/push-agent.js';
import { installUnitsPhase } from '../phases/up/install-units.js';
import { startPhase } from '../phases/up/start.js';
import { verifyPhase } from '../phases/up/verify.js';
import { reportPhase } from '../phases/up/report.js';
import { renderHostFiles } from '../phases/up/units.js';

export interface CommonOpts {
  inventory?: string;
  limit?: string;
  concurrency: string;
  concurrentUploads: string;
  dryRun?: boolean;
  output: 'text' | 'json';
  verbose?: boolean;
  acceptNewHostKeys?: boolean;
}

export function addCommonOptions(c: Command): Command {
  return c
    .option('-i, --inventory <file>', 'Ansible YAML inventory', './inventory.yml')
    .option('--limit <hosts>', 'only these hosts or groups (Ansible --limit syntax)')
    .option('--concurrency <n>', 'hosts worked on at once', '30')
    .option('--concurrent-uploads <n>', 'simultaneous agent uploads', '5')
    .addOption(new Option('--output <format>', 'text, or json (one event per line)').choices(['text', 'json']).default('text'))
    .option('--accept-new-host-keys', 'accept and record unknown host keys (StrictHostKeyChecking=accept-new); changed keys are always refused')
    .option('-v, --verbose', 'more detail');
}

/** Plain lines (no TTY needed) or JSON lines: what a reporter prints for each event. */
export function lineReporter(format: 'text' | 'json', verbose: boolean, out: NodeJS.WritableStream = process.stdout): Reporter {
  const w = (s: string) => out.write(s + '\n');
  return {
    emit(ev: FlanprovEvent) {
      if (format === 'json') return void w(JSON.stringify({ ...ev, time: new Date().toISOString() }));
      switch (ev.event) {
        case 'phase.end':
          if (ev.status !== 'skipped' || verbose) w(`[${ev.status.padEnd(7)}] ${ev.phase} (${ev.ms} ms)${ev.failedHosts?.length ? ` failed: ${ev.failedHosts.join(', ')}` : ''}`);
          break;
        case 'host.change':
          w(`  ${ev.host}: ${ev.change}`);
          break;
        case 'host.result':
          if (ev.status === 'failed') w(`  ${ev.host}: FAILED: ${ev.message ?? ''}`);
          break;
        case 'log':
          if (ev.level !== 'debug' || verbose) w(`${ev.level === 'warn' ? 'warning: ' : ''}${ev.host ? `${ev.host}: ` : ''}${ev.message}`);
          break;
        case 'verify.matrix':
          break; // the verify phase logs the matrix as text
        case 'summary':
          w(`${ev.command}: ${ev.ok ? 'ok' : 'FAILED'} in ${(ev.ms / 1000).toFixed(1)} s${ev.dryRun ? ' (dry run)' : ''}`);
          for (const h of ev.hosts) w(`  ${h.host.padEnd(12)} ${h.status.padEnd(8)} ${(h.ms / 1000).toFixed(1)} s  ${h.changes.length} change(s)${h.message ? `  ${h.message}` : ''}`);
          break;
        case 'error':
          w(`error: ${ev.message}${ev.hint ? `\n  hint: ${ev.hint}` : ''}`);
          break;
        default:
          break;
      }
    },
    close: async () => undefined,
  };
}

export interface RunCommandInput {
  command: string;
  opts: CommonOpts;
  phases: Phase[];
  /** state for the phases (e.g. the renderer) */
  shared?: Map<string, unknown>;
  /** called after the run with the cluster (e.g. to print a table) */
  after?: (cluster: ClusterSpec, shared: Map<string, unknown>, reporter: Reporter) => void;
}

/** Loads the inventory, runs the phases, emits the summary, closes connections; returns the exit code. */
export async function runCommand(inp: RunCommandInput): Promise<number> {
  const { opts } = inp;
  const reporter = lineReporter(opts.output, !!opts.verbose);
  const t0 = Date.now();
  let cluster: ClusterSpec;
  try {
    cluster = loadInventory(opts.inventory ?? './inventory.yml', { ...(opts.limit ? { limit: opts.limit } : {}) });
  } catch (e) {
    const code = e instanceof FlanprovError ? e.exitCode : ExitCode.INTERNAL;
    reporter.emit({ event: 'error', message: describeError(e), exitCode: code });
    reporter.emit({ event: 'summary', command: inp.command, ok: false, dryRun: !!opts.dryRun, exitCode: code, ms: Date.now() - t0, hosts: [] });
    await reporter.close();
    return code;
  }
  const options: RunOptions = {
    dryRun: !!opts.dryRun,
    concurrency: Math.max(1, Number(opts.concurrency) || 30),
    uploadConcurrency: Math.max(1, Number(opts.concurrentUploads) || 5),
    verbose: !!opts.verbose,
    connect: { ...(opts.acceptNewHostKeys ? { acceptNewHostKeys: true } : {}) },
  };
  const hosts = makeHostStates(cluster);
  const shared = inp.shared ?? new Map<string, unknown>();
  let code: number;
  try {
    const report = await runPhases({ command: inp.command, cluster, phases: inp.phases, options, reporter, hosts, shared });
    code = reportExitCode(report);
    if (report.error) {
      const e = report.error;
      reporter.emit({
        event: 'error', message: describeError(e), exitCode: code,
        ...(e instanceof FlanprovError && e.where ? { where: e.where } : {}), ...(e instanceof FlanprovError && e.hint ? { hint: e.hint } : {}),
        ...(report.hosts.some((h) => h.status === 'failed') ? { hosts: report.hosts.filter((h) => h.status === 'failed').map((h) => h.host) } : {}),
      });
    } else {
      inp.after?.(cluster, shared, reporter);
    }
    reporter.emit({ event: 'summary', command: inp.command, ok: report.ok, dryRun: options.dryRun, exitCode: code, ms: Date.now() - t0, hosts: report.hosts });
  } finally {
    await closeAll(hosts);
    await reporter.close();
  }
  return code;
}

export const UP_PHASES: Phase[] = [
  connectPhase, factsPhase, preflightPhase, seedEtcdPhase, pushAgentPhase, installUnitsPhase, startPhase, verifyPhase, reportPhase,
];

export function registerUp(program: Command): void {
  const c = program
    .command('up')
    .description('provision or converge the whole cluster, then verify it with cross-host container pings')
    .argument('[inventory]', 'inventory file (same as -i)');
  addCommonOptions(c)
    .option('--dry-run', 'show what would change, touch nothing')
    .option('--no-verify', 'skip the ping matrix')
    .action(async (inventory: string | undefined, opts: CommonOpts & { verify: boolean }) => {
      if (inventory) opts.inventory = inventory;
      const shared = new Map<string, unknown>([
        ['renderHostFiles', (_ctx: unknown, h: Parameters<typeof renderHostFiles>[0]) => renderHostFiles(h)],
        ['skipVerify', opts.verify === false],
      ]);
      process.exitCode = await runCommand({ command: 'up', opts, phases: UP_PHASES, shared });
    });
}
