/**
 * Preflight as `up`, `check` and `switch-backend` run it: every check of preflight.ts over the inventory
 * and all hosts' facts, plus the network config already in etcd (read only).
 */
import type { PhaseContext } from '../framework/types.js';
import { validateNetworkConfig } from '../../network/config.js';
import { readConfig, type StoredConfig } from '../../etcd/config-store.js';
import { configKey } from '../../etcd/keys.js';
import { errors, preflight, unameMachine, type Problem, type PreflightHost } from './preflight.js';
import { compareConfigs, formatConfigDiff } from './config-compare.js';
import { etcdFor, withEtcd } from './etcd-session.js';
import { configInV2Message, readV2Flannel, type V2FlannelData } from '../../etcd/v2-store.js';
import { gathered } from './host-state.js';
import './etcd-members.js'; // RunState.etcdServing
import './adopt-check.js'; // RunState.adopt

declare module '../framework/types.js' {
  interface RunState {
    /** the network config in etcd as preflight read it (null: none) */
    storedConfig?: StoredConfig | null;
    /** `up --adopt` on a cluster whose flannel data is in etcd's v2 store only: what Copy etcd v2 data copies */
    etcdV2?: V2FlannelData;
  }
}

export function preflightHosts(ctx: PhaseContext): PreflightHost[] {
  return ctx.hosts.filter((h) => !h.failed).map((h) => ({
    spec: h.spec,
    facts: gathered(h),
    iface: h.facts.iface ? { ok: true as const, iface: h.facts.iface } : { ok: false as const, error: h.facts.ifaceError ?? 'no interface chosen' },
    ...(h.facts.cni ? { cni: h.facts.cni } : {}),
  }));
}

/** Runs the checks and returns the problems (warnings are logged); `check` mode relaxes what `up` fixes. */
export async function runPreflight(ctx: PhaseContext, mode: 'up' | 'check'): Promise<Problem[]> {
  const config = validateNetworkConfig(ctx.cluster.networkConfig);
  const problems = preflight({ cluster: ctx.cluster, config, hosts: preflightHosts(ctx), agentMachine: unameMachine(), mode, adopt: !!ctx.state.adopt });
  // A managed etcd that does not answer yet holds no config; seeding checks it once the cluster runs.
  if (ctx.cluster.etcd.managed && !ctx.state.etcdServing) ctx.state.storedConfig = null;
  else if (config.ok && !errors(problems).length) {
    const stored = await withEtcd(ctx, 'reading the network config', (c) => readConfig(c, ctx.cluster.etcd.prefix));
    ctx.state.storedConfig = stored ?? null;
    // no v3 config: a cluster built before flannel 0.18 may hold its config (and leases) in the v2 store
    const v2 = stored ? undefined : await configInV2(ctx);
    const inEtcd = stored?.text ?? v2?.config;
    if (v2 && !ctx.state.adopt) problems.push({ severity: 'error', check: 'etcd-v2-config', hosts: [], message: configInV2Message(ctx.cluster.etcd.prefix, v2, 'cli') });
    else if (v2) ctx.state.etcdV2 = v2;
    if (inEtcd !== undefined) {
      const cmp = compareConfigs(ctx.cluster.networkConfig, inEtcd);
      if (!cmp.equal) problems.push({ severity: 'error', check: 'etcd-config', hosts: [], message: formatConfigDiff(`${configKey(ctx.cluster.etcd.prefix)}${stored ? '' : ' (in etcd\'s v2 store)'}`, cmp) });
    }
  }
  for (const p of problems.filter((x) => x.severity === 'warning')) ctx.log('warn', `${p.hosts.length ? p.hosts.join(', ') + ': ' : ''}${p.message}`);
  return problems;
}

/**
 * flannel's data in etcd's v2 store, when v3 has no config (read within --etcd-timeout; no v2 API = none).
 * An etcd flanprov runs itself serves no v2 API: not asked.
 */
export async function configInV2(ctx: PhaseContext): Promise<V2FlannelData | undefined> {
  if (ctx.cluster.etcd.managed) return undefined;
  const access = await etcdFor(ctx);
  return readV2Flannel(access.v2, ctx.cluster.etcd.prefix, Math.min(3000, ctx.options.etcdTimeoutMs));
}

export function storedConfig(ctx: PhaseContext): StoredConfig | null | undefined {
  return ctx.state.storedConfig;
}
