/**
 * switch-backend, phase 4 — Start measuring (--measure): a namespace and one pinger per peer on every
 * host, every `--measure-interval` ms, started and checked (every pair answers) before the config
 * changes. If the run fails later, the clean-up hook still stops it and reports what it saw.
 */
import type { Phase, PhaseContext } from '../framework/types.js';
import { StepFailedError } from '../../util/errors.js';
import { Measurement } from '../../measure/session.js';
import { gathered } from '../shared/host-state.js';
import { reportMeasurement } from './measure-stop.js';
import { switchRun } from './state.js';

function measured(ctx: PhaseContext) {
  return ctx.hosts.filter((h) => !h.failed);
}

export const measureStartPhase: Phase = {
  title: 'Start measuring',
  shouldRun: (ctx) => {
    const run = switchRun(ctx);
    return run.opts.measure && run.kind !== 'noop';
  },
  async dryRun(ctx) {
    const n = measured(ctx).length;
    const i = switchRun(ctx).opts.measureIntervalMs;
    await ctx.forEachHost(async (_h, rec) => rec.changed(`would start a measurement namespace with ${n - 1} pinger(s) (every ${i} ms)`));
  },
  async run(ctx) {
    const run = switchRun(ctx);
    const hosts = measured(ctx).map((h) => {
      const subnet = (h.facts.subnetEnv ?? gathered(h).subnetEnv)?.subnet;
      if (!subnet) throw new StepFailedError('no subnet in /run/flannel/subnet.env: cannot place the measurement namespace', h.name);
      return { name: h.name, remote: h.remote(), subnet };
    });
    if (hosts.length < 2) {
      ctx.log('warn', 'measurement needs at least two hosts; not measuring');
      return;
    }
    run.measurement = await Measurement.start(hosts, { intervalMs: run.opts.measureIntervalMs, ...(run.opts.measureKeepLogs ? { keepLogsDir: run.opts.measureKeepLogs } : {}) });
    ctx.log('info', `measuring: ${hosts.length * (hosts.length - 1)} pinger(s), one every ${run.opts.measureIntervalMs} ms per direction and pair; every pair answers`);
  },
  async cleanUp(ctx) {
    const run = switchRun(ctx);
    if (run.measurement && !run.measurement.isStopped) await reportMeasurement(ctx, run);
  },
};
