/**
 * `flanprov switch-backend vxlan|host-gw`: move a live cluster to another backend (make-before-break in
 * the agents, the config changed with a compare-and-swap, MTU and verification after). Wiring only: the
 * phases are in src/phases/switch/, the run/output machinery is the shared one (output/command.ts).
 */
import { Argument, Command, Option } from 'commander';
import { InvalidInputError } from '../util/errors.js';
import { SWITCH_PHASES } from '../phases/switch/pipeline.js';
import { SWITCH_TARGETS, parseDuration, type SwitchTarget } from '../phases/switch/plan.js';
import { newSwitchRun } from '../phases/switch/state.js';
import { runCommand } from './output/command.js';
import { addCommonOptions, type CommonOpts } from './output/options.js';

interface SwitchCliOpts extends CommonOpts {
  timeout: string;
  measure?: boolean;
  measureInterval: string;
  measureKeepLogs?: string;
  raiseMtu?: boolean;
  force?: boolean;
  updateInventory?: boolean;
}

function duration(name: string, v: string): number {
  const ms = parseDuration(v);
  if (ms === undefined || ms <= 0) throw new InvalidInputError(`${name}: not a duration: "${v}" (e.g. 90s, 2m, 500ms)`);
  return ms;
}

export function defineSwitchBackend(c: Command): void {
  c.addArgument(new Argument('<type>', 'the backend to move to').choices(SWITCH_TARGETS as string[]));
  addCommonOptions(c, { dryRun: false })
    .option('--dry-run', 'run the read-only checks and show the plan, touch nothing')
    .option('--timeout <duration>', 'how long agents may take to follow (and, on rollback, to return)', '120s')
    .option('--measure', 'measure traffic loss during the switch: pings every 10 ms in both directions of every host pair')
    .addOption(new Option('--measure-interval <ms>', 'ping interval of --measure').default('10').hideHelp())
    .addOption(new Option('--measure-keep-logs <dir>', "keep every pinger's raw output in this directory").hideHelp())
    .option('--raise-mtu', 'vxlan → host-gw: restart Docker so containers use the larger MTU now (default: keep the smaller one)')
    .option('--force', 'when agents do not follow: keep the new config and finish on the others (default: roll back)')
    .option('--update-inventory', 'afterwards set flannel_backend wherever the inventory writes it (YAML or INI files, group_vars/, host_vars/; only the values change)')
    .action(async (type: SwitchTarget, opts: SwitchCliOpts) => {
      if (opts.limit) throw new InvalidInputError('--limit does not apply: a backend is switched on every host of the cluster at once', 'switch-backend');
      const interval = Number(opts.measureInterval);
      if (!Number.isInteger(interval) || interval < 2 || interval > 1000) throw new InvalidInputError(`--measure-interval: whole milliseconds 2..1000, got "${opts.measureInterval}"`, 'switch-backend');
      const run = newSwitchRun({
        target: type,
        timeoutMs: duration('--timeout', opts.timeout),
        pollMs: 200,
        measure: !!opts.measure,
        measureIntervalMs: interval,
        ...(opts.measureKeepLogs ? { measureKeepLogs: opts.measureKeepLogs } : {}),
        raiseMtu: !!opts.raiseMtu,
        force: !!opts.force,
        updateInventory: !!opts.updateInventory,
      });
      // Verification probes start with the facts (up's early probes); verify replaces those Docker restarted.
      process.exitCode = await runCommand({ command: 'switch-backend', opts, phases: SWITCH_PHASES, state: { switch: run, verify: true } });
    });
}
