/**
 * Phase 3 — Preflight: every check over the inventory and all hosts' facts, plus the network config
 * already in etcd (read only). Any error refuses the run with exit code 2 before anything changes.
 */
import type { Phase } from '../framework/types.js';
import { errors, preflightRefusal } from '../shared/preflight.js';
import { runPreflight } from '../shared/preflight-run.js';
import { closeEtcd } from '../shared/etcd-session.js';

export const preflightPhase: Phase = {
  title: 'Preflight',
  readOnly: true,
  async run(ctx) {
    const errs = errors(await runPreflight(ctx, 'up'));
    if (errs.length) {
      throw preflightRefusal('preflight refused; nothing was changed on any host', errs,
        errs.some((e) => e.check === 'l2-adjacency') ? 'host-gw needs all hosts on one L2 segment; use flannel_backend: vxlan' : undefined);
    }
  },
  cleanUp: closeEtcd,
};
