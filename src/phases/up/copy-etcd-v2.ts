/**
 * `up --adopt` — Copy etcd v2 data (issue 9.4): a cluster built before flannel 0.18 holds its config and
 * leases in etcd's v2 store, which flanprov's agent (like flannel ≥ 0.18) does not read. Preflight found
 * them (v3 had no config) and compared the config with the inventory; this phase copies both into the v3
 * layout before any agent starts, so each agent finds the lease of its public IP and keeps its subnet.
 * Create-only, TTLs kept, the v2 data left alone (etcd/v2-copy.ts). Runs before Seed etcd, which then has
 * nothing to write.
 */
import type { Phase } from '../framework/types.js';
import { configKey } from '../../etcd/keys.js';
import { copyV2ToV3, describeV2Copy } from '../../etcd/v2-copy.js';
import { formatNet } from '../../network/ipv4.js';
import { decodeLeaseAttrs } from '../../network/lease.js';
import { InvalidInputError } from '../../util/errors.js';
import { compareConfigs, formatConfigDiff } from '../shared/config-compare.js';
import { clusterChange } from '../shared/cluster-changes.js';
import { withEtcd } from '../shared/etcd-session.js';
import '../shared/preflight-run.js'; // RunState.etcdV2, storedConfig

const publicIpOf = (value: string) => {
  try {
    return decodeLeaseAttrs(value).PublicIP;
  } catch {
    return 'unreadable';
  }
};

export const copyEtcdV2Phase: Phase = {
  title: 'Copy etcd v2 data',
  shouldRun: (ctx) => ctx.state.etcdV2 !== undefined,
  async dryRun(ctx) {
    const v2 = ctx.state.etcdV2!;
    const leases = v2.leases.map((l) => `${formatNet(l.subnet)} (${publicIpOf(l.value)}${l.ttl !== undefined ? `, TTL ${l.ttl} s` : ', no TTL'})`);
    clusterChange(ctx, `would copy ${configKey(ctx.cluster.etcd.prefix)} and ${v2.leases.length} lease(s)${leases.length ? `: ${leases.join(', ')}` : ''} from etcd's v2 store to v3 (the v2 data is left alone)`);
  },
  async run(ctx) {
    const prefix = ctx.cluster.etcd.prefix;
    const r = await withEtcd(ctx, `copying ${configKey(prefix)} and its leases from etcd's v2 store to v3`, (c) => copyV2ToV3(c, prefix, ctx.state.etcdV2!));
    const said = describeV2Copy(prefix, r);
    for (const line of said.copied) clusterChange(ctx, line);
    for (const line of said.kept) ctx.log('warn', line);
    // a v3 config written by someone else since preflight must still be the inventory's
    const cmp = compareConfigs(ctx.cluster.networkConfig, r.config.stored.text);
    if (!cmp.equal) throw new InvalidInputError(formatConfigDiff(configKey(prefix), cmp));
    ctx.state.storedConfig = r.config.stored;
  },
};
