/**
 * switch-backend, phase 3 — Preflight (read-only; nothing changes anywhere if it refuses, exit 2):
 * the target config is valid (the agent's validator) and agrees with etcd on everything but the backend;
 * `up`'s checks for the target backend (host-gw: every pair of hosts L2-adjacent, named otherwise; NAT;
 * MTU); every agent healthy, on the config in etcd, with its lease on the current backend. Decides the
 * plan: switch, resume an earlier forced switch, or nothing to do.
 */
import type { Phase, PhaseContext } from '../framework/types.js';
import { readConfig } from '../../etcd/config-store.js';
import { configKey } from '../../etcd/keys.js';
import { parseNetworkConfig, validateNetworkConfig } from '../../network/config.js';
import { formatNet } from '../../network/ipv4.js';
import { InvalidInputError } from '../../util/errors.js';
import { errors, preflight, preflightRefusal, unameMachine, type Problem } from '../shared/preflight.js';
import { closeEtcd, withEtcd } from '../shared/etcd-session.js';
import { configInV2, preflightHosts } from '../shared/preflight-run.js';
import { configInV2Message } from '../../etcd/v2-store.js';
import { gathered } from '../shared/host-state.js';
import { listLeases } from './observe.js';
import { leaseOf, nonBackendDiff, steadyProblems, targetConfig, type AgentView } from './plan.js';
import { switchRun } from './state.js';

export async function switchPreflight(ctx: PhaseContext): Promise<Problem[]> {
  const run = switchRun(ctx);
  const want = run.opts.target;
  const target = targetConfig(ctx.cluster.network, want);
  run.target = target;
  const problems = preflight({
    cluster: { ...ctx.cluster, networkConfig: target.object },
    config: validateNetworkConfig(target.object),
    hosts: preflightHosts(ctx),
    agentMachine: unameMachine(),
    mode: 'check',
  });
  if (errors(problems).length) return problems;

  const key = configKey(ctx.cluster.etcd.prefix);
  const stored = await withEtcd(ctx, 'reading the network config', (c) => readConfig(c, ctx.cluster.etcd.prefix));
  if (!stored) {
    const v2 = await configInV2(ctx);
    problems.push(v2
      ? { severity: 'error', check: 'etcd-v2-config', hosts: [], message: configInV2Message(ctx.cluster.etcd.prefix, v2, 'cli') }
      : { severity: 'error', check: 'etcd-config', hosts: [], message: `there is no network config in etcd (${key}): the cluster has not been set up; run \`flanprov up\`` });
    return problems;
  }
  let from: string;
  try {
    from = parseNetworkConfig(stored.text).backendType;
  } catch (e) {
    problems.push({ severity: 'error', check: 'etcd-config', hosts: [], message: `the network config in etcd (${key}) is invalid: ${(e as Error).message}` });
    return problems;
  }
  const diff = nonBackendDiff(target, stored.text);
  if (diff.length) {
    const w = Math.max(...diff.map((d) => d.field.length));
    problems.push({
      severity: 'error', check: 'etcd-config', hosts: [],
      message: `the network config in etcd (${key}) differs from the inventory in more than the backend; switch-backend changes only the backend:\n${diff.map((d) => `  ${d.field.padEnd(w)}  etcd: ${d.current}  →  inventory: ${d.wanted}`).join('\n')}`,
    });
    return problems;
  }
  run.stored = stored;
  run.from = from;

  const leases = await listLeases(ctx);
  const views: AgentView[] = ctx.hosts.filter((h) => !h.failed).map((h) => {
    const f = gathered(h);
    const lease = leaseOf(leases, h.facts.iface?.publicIp, f.agent.status);
    return { host: h.name, unit: f.agent.unit?.active ?? 'not installed', ...(f.agent.status !== undefined ? { status: f.agent.status } : {}), ...(lease ? { lease } : {}) };
  });
  const ours = new Set(views.flatMap((v) => (v.lease ? [formatNet(v.lease.subnet)] : [])));
  const strangers = leases.filter((l) => !ours.has(formatNet(l.subnet)));
  if (strangers.length) {
    problems.push({
      severity: 'warning', check: 'leases', hosts: [],
      message: `lease(s) of hosts outside the inventory: ${strangers.map((l) => `${formatNet(l.subnet)} (${l.attrs.PublicIP}, ${l.attrs.BackendType ?? 'no backend'})`).join(', ')}; their agents are not waited for`,
    });
  }

  if (from === want) {
    const lagging = views.filter((v) => steadyProblems(v, want).length);
    run.kind = lagging.length ? 'resume' : 'noop';
    if (lagging.length) ctx.log('info', `the config in etcd already says ${want}; ${lagging.map((v) => v.host).join(', ')} ha${lagging.length > 1 ? 've' : 's'} not followed yet: waiting for them and finishing the switch`);
    return problems;
  }
  for (const v of views) {
    const p = steadyProblems(v, from);
    if (p.length) problems.push({ severity: 'error', check: 'agents', hosts: [v.host], message: `not ready to switch from ${from}: ${p.join('; ')}` });
  }
  run.kind = 'switch';
  return problems;
}

export const switchPreflightPhase: Phase = {
  title: 'Preflight',
  readOnly: true,
  async run(ctx) {
    const problems = await switchPreflight(ctx);
    for (const p of problems.filter((x) => x.severity === 'warning')) ctx.log('warn', `${p.hosts.length ? p.hosts.join(', ') + ': ' : ''}${p.message}`);
    const errs = errors(problems);
    if (errs.length) {
      const adj = errs.some((e) => e.check === 'l2-adjacency');
      throw preflightRefusal(`switch-backend ${switchRun(ctx).opts.target} refused; nothing was changed`, errs,
        adj ? 'host-gw needs every pair of hosts on one L2 segment; stay on vxlan (DirectRouting: true gives direct routes where hosts are adjacent)'
          : errs.some((e) => e.check === 'agents') ? 'fix the agents first (flanprov up converges them; journalctl -u flanneld on the host)' : undefined);
    }
    const run = switchRun(ctx);
    const n = ctx.hosts.filter((h) => !h.failed).length;
    if (run.kind === 'noop') ctx.log('info', `the cluster is already on ${run.opts.target}: every agent and lease says so; nothing to do`);
    else if (run.kind === 'switch') ctx.log('info', `plan: ${run.from} → ${run.opts.target} on ${n} host(s): write ${configKey(ctx.cluster.etcd.prefix)} (compare-and-swap on revision ${run.stored!.modRevision}), wait for every agent, update the MTU, verify`);
  },
  cleanUp: closeEtcd,
};
