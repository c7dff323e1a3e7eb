/**
 * Phase 3 — Preflight: every check over the inventory and all hosts' facts, plus the network config
 * already in etcd (read only). Any error refuses the run with exit code 2 before anything changes.
 */
import type { Phase, PhaseContext } from '../framework/types.js';
import { validateNetworkConfig } from '../../network/config.js';
import { readConfig, type StoredConfig } from '../../etcd/config-store.js';
import { configKey } from '../../etcd/keys.js';
import { InvalidInputError } from '../../util/errors.js';
import { errors, formatProblems, preflight, unameMachine, type Problem, type PreflightHost } from '../shared/preflight.js';
import { compareConfigs, formatConfigDiff } from '../shared/config-compare.js';
import { openEtcd, openEtcdDirect, type EtcdAccess } from '../shared/etcd-access.js';
import { gathered } from './state.js';

/** The run's etcd connection (opened once, closed by the preflight phase's cleanUp). */
export async function etcdFor(ctx: PhaseContext): Promise<EtcdAccess> {
  let p = ctx.shared.get('etcd') as Promise<EtcdAccess> | undefined;
  if (!p) {
    const via = ctx.hosts
      .filter((h) => h.conn && h.facts.gathered)
      .map((h) => ({ remote: h.remote(), reachable: [...gathered(h).etcdReach].filter(([, ok]) => ok).map(([ep]) => ep) }));
    const direct = ctx.shared.get(ETCD_DIRECT) as Promise<EtcdAccess | undefined> | undefined;
    ctx.shared.delete(ETCD_DIRECT);
    p = openEtcd(ctx.cluster, via, { log: (m) => ctx.log('debug', m), ...(direct ? { direct } : {}) });
    ctx.shared.set('etcd', p);
    p.catch(() => ctx.shared.delete('etcd'));
  }
  return p;
}

/** ctx.shared key of the direct etcd attempt started alongside the facts (startEtcdDirect). */
const ETCD_DIRECT = 'etcd.direct';

/** Starts the direct etcd attempt now (it needs no facts); etcdFor() takes it over. */
export function startEtcdDirect(ctx: PhaseContext): void {
  if (!ctx.shared.has('etcd') && !ctx.shared.has(ETCD_DIRECT)) {
    const p = openEtcdDirect(ctx.cluster).catch(() => undefined);
    ctx.shared.set(ETCD_DIRECT, p);
  }
}

export async function closeEtcd(ctx: PhaseContext): Promise<void> {
  const p = ctx.shared.get('etcd') as Promise<EtcdAccess> | undefined;
  ctx.shared.delete('etcd');
  if (p) await p.then((e) => e.close(), () => undefined);
  const d = ctx.shared.get(ETCD_DIRECT) as Promise<EtcdAccess | undefined> | undefined;
  ctx.shared.delete(ETCD_DIRECT);
  if (d) await d.then((e) => e?.close());
}

export function preflightHosts(ctx: PhaseContext): PreflightHost[] {
  return ctx.hosts.filter((h) => !h.failed).map((h) => ({
    spec: h.spec,
    facts: gathered(h),
    iface: h.facts.iface ? { ok: true as const, iface: h.facts.iface } : { ok: false as const, error: h.facts.ifaceError ?? 'no interface chosen' },
  }));
}

/** Runs the checks and returns the problems (warnings are logged); `check` mode relaxes what `up` fixes. */
export async function runPreflight(ctx: PhaseContext, mode: 'up' | 'check'): Promise<Problem[]> {
  const config = validateNetworkConfig(ctx.cluster.networkConfig);
  const problems = preflight({ cluster: ctx.cluster, config, hosts: preflightHosts(ctx), agentMachine: unameMachine(), mode });
  if (config.ok && !errors(problems).length) {
    const etcd = await etcdFor(ctx);
    const stored = await readConfig(etcd.client, ctx.cluster.etcd.prefix);
    ctx.shared.set('storedConfig', stored ?? null);
    if (stored) {
      const cmp = compareConfigs(ctx.cluster.networkConfig, stored.text);
      if (!cmp.equal) problems.push({ severity: 'error', check: 'etcd-config', hosts: [], message: formatConfigDiff(configKey(ctx.cluster.etcd.prefix), cmp) });
    }
  }
  for (const p of problems.filter((x) => x.severity === 'warning')) ctx.log('warn', `${p.hosts.length ? p.hosts.join(', ') + ': ' : ''}${p.message}`);
  return problems;
}

export function storedConfig(ctx: PhaseContext): StoredConfig | null | undefined {
  return ctx.shared.get('storedConfig') as StoredConfig | null | undefined;
}

export const preflightPhase: Phase = {
  title: 'Preflight',
  readOnly: true,
  async run(ctx) {
    const errs = errors(await runPreflight(ctx, 'up'));
    if (errs.length) {
      throw new InvalidInputError(`preflight refused; nothing was changed on any host:\n${formatProblems(errs)}`, undefined,
        errs.some((e) => e.check === 'l2-adjacency') ? 'host-gw needs all hosts on one L2 segment; use flannel_backend: vxlan' : undefined);
    }
  },
  cleanUp: closeEtcd,
};
