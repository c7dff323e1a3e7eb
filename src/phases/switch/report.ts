/**
 * switch-backend — Report: what happened (switched / nothing to do / forced with hosts left behind), the
 * `switch.result` event, and what to do with the inventory so the next `flanprov up` agrees with etcd.
 * A forced switch with hosts that did not follow fails the run here, after the others were finished.
 */
import type { Phase } from '../framework/types.js';
import { FlanprovError } from '../../util/errors.js';
import { planned, switchRun } from './state.js';
import { stallExitCode } from './wait-agents.js';

export const switchReportPhase: Phase = {
  title: 'Report',
  readOnly: true,
  async run(ctx) {
    const run = switchRun(ctx);
    const p = planned(run);
    const to = run.opts.target;
    if (ctx.options.dryRun) {
      ctx.log('info', p.kind === 'noop' ? `dry run: the cluster is already on ${to}` : `dry run: nothing was changed (plan: ${p.from} → ${to})`);
      return;
    }
    const outcome = run.outcome ?? (p.kind === 'noop' ? 'nothing-to-do' : 'switched');
    ctx.reporter.emit({ event: 'switch.result', from: p.from, to, outcome, notFollowed: run.notFollowed, ms: run.writtenAt ? Date.now() - run.writtenAt : 0 });
    if (ctx.cluster.network.backend !== to && !run.opts.updateInventory) {
      ctx.log('info', `the inventory still says flannel_backend: ${ctx.cluster.network.backend}; set it to ${to} in ${ctx.cluster.inventoryFile} (or run with --update-inventory) so \`flanprov up\` agrees with etcd`);
    }
    if (run.outcome === 'forced' && run.notFollowed.length) {
      const behind = new Set(run.notFollowed.map((n) => n.host));
      const others = ctx.hosts.filter((h) => !behind.has(h.name)).map((h) => h.name);
      ctx.log('warn', `--force: the config says ${to}; ${others.length ? `${others.join(', ')} ${others.length > 1 ? 'are' : 'is'} on ${to} and verified; ` : ''}not following: ${run.notFollowed.map((n) => n.host).join(', ')}. Start or fix the agent there (it applies the config in etcd), then run \`flanprov switch-backend ${to}\` again to finish`);
      // Each host left behind fails the run (exit 3 if unreachable, else 4), named in the summary.
      await ctx.forEachHost(async (h) => {
        const n = run.notFollowed.find((x) => x.host === h.name)!;
        throw new FlanprovError(`did not follow to ${to}: ${n.why}`, stallExitCode([n]) as FlanprovError['exitCode']);
      }, { hosts: ctx.hosts.filter((h) => behind.has(h.name)) });
    }
    ctx.log('info', p.kind === 'noop' ? `the cluster is on ${to}` : `switched ${p.from} → ${to}`);
  },
};
