/**
 * Phase 4 — Seed etcd: write `<prefix>/config` only if absent (create-only transaction). An equal config
 * is no change; a different one was already refused by preflight (and is refused here too if it appeared
 * in between, e.g. written by someone else).
 */
import type { Phase } from '../framework/types.js';
import { createConfig } from '../../etcd/config-store.js';
import { configKey } from '../../etcd/keys.js';
import { InvalidInputError } from '../../util/errors.js';
import { compareConfigs, formatConfigDiff } from '../shared/config-compare.js';
import { etcdFor, withEtcd } from '../shared/etcd-session.js';
import { storedConfig } from '../shared/preflight-run.js';
import { clusterChange } from '../shared/cluster-changes.js';

export function configText(config: Record<string, unknown>): string {
  return JSON.stringify(config);
}

export const seedEtcdPhase: Phase = {
  title: 'Seed etcd',
  // after Copy etcd v2 data (up --adopt) the config is there; in a dry run it would be
  shouldRun: (ctx) => storedConfig(ctx) === null && ctx.state.etcdV2 === undefined,
  async dryRun(ctx) {
    clusterChange(ctx, `would write ${configKey(ctx.cluster.etcd.prefix)} = ${configText(ctx.cluster.networkConfig)}`);
  },
  async run(ctx) {
    const key = configKey(ctx.cluster.etcd.prefix);
    const r = await withEtcd(ctx, `writing ${key}`, (c) => createConfig(c, ctx.cluster.etcd.prefix, configText(ctx.cluster.networkConfig)));
    if (r.created) {
      clusterChange(ctx, `wrote ${key} (${(await etcdFor(ctx)).via})`);
      return;
    }
    const cmp = compareConfigs(ctx.cluster.networkConfig, r.existing.text);
    if (!cmp.equal) throw new InvalidInputError(formatConfigDiff(key, cmp));
  },
};
