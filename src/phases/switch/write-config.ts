/**
 * switch-backend, phase 5 — Write config: the new network config replaces the old one with a
 * compare-and-swap on the revision preflight read, so a config changed by anyone in between is never
 * overwritten (nothing changes then; run again).
 */
import type { Phase } from '../framework/types.js';
import { swapConfig } from '../../etcd/config-store.js';
import { configKey } from '../../etcd/keys.js';
import { StepFailedError } from '../../util/errors.js';
import { withEtcd } from '../shared/etcd-session.js';
import { clusterChange } from '../shared/cluster-changes.js';
import { planned, switchRun } from './state.js';
import { rollBack } from './wait-agents.js';

export const writeConfigPhase: Phase = {
  title: 'Write config',
  shouldRun: (ctx) => switchRun(ctx).kind === 'switch',
  async dryRun(ctx) {
    const p = planned(switchRun(ctx));
    clusterChange(ctx, `would write ${configKey(ctx.cluster.etcd.prefix)} = ${p.target.text} (compare-and-swap on revision ${p.stored.modRevision}; now ${p.stored.text.trim()})`);
  },
  async run(ctx) {
    const run = switchRun(ctx);
    const p = planned(run);
    const key = configKey(ctx.cluster.etcd.prefix);
    if (!(await withEtcd(ctx, `writing ${key}`, (c) => swapConfig(c, ctx.cluster.etcd.prefix, p.target.text, { modRevision: p.stored.modRevision })))) {
      throw new StepFailedError(`${key} changed since preflight read it (revision ${p.stored.modRevision}); nothing was written: run switch-backend again`);
    }
    run.writtenAt = Date.now();
    clusterChange(ctx, `wrote ${key}: backend ${p.from} → ${p.target.config.backendType}`);
  },
  // Interrupted after the config was written but before the wait began: undo the write (the wait phase
  // undoes it itself when the interrupt comes while it waits).
  async cleanUp(ctx) {
    const run = switchRun(ctx);
    if (!ctx.options.signal?.aborted || run.writtenAt === undefined || run.outcome !== undefined) return;
    const hosts = ctx.hosts.filter((h) => !h.failed);
    ctx.log('warn', 'interrupted after the config was written: rolling it back');
    ctx.log('info', await rollBack(ctx, hosts, { done: new Map(), missing: new Map(), last: new Map() }));
  },
};
