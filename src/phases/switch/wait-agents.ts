/**
 * switch-backend, phase 6 — Wait for agents: until every agent's lease says the new backend and its
 * /status lists only that backend (the agent has torn the old one down), within --timeout. Agents that
 * do not follow (stopped, failed, unreachable, or too slow) are named; then, by default, the old config
 * is put back with another compare-and-swap and the agents that run are waited for on the old backend,
 * so the cluster is left consistent; with --force the new config stays and the others carry on.
 */
import type { HostState, Phase, PhaseContext } from '../framework/types.js';
import { readConfig, swapConfig } from '../../etcd/config-store.js';
import { configKey } from '../../etcd/keys.js';
import { ExitCode, StepFailedError, UnreachableError } from '../../util/errors.js';
import { withEtcd } from '../shared/etcd-session.js';
import { clusterChange } from '../shared/cluster-changes.js';
import { waitForBackend, type WaitOutcome } from './observe.js';
import { decideOnStall } from './plan.js';
import { planned, switchRun } from './state.js';

function live(ctx: PhaseContext): HostState[] {
  return ctx.hosts.filter((h) => !h.failed);
}

function describeMissing(o: WaitOutcome): string {
  return [...o.missing].map(([h, s]) => `${h}: ${s.why}`).join('; ');
}

/** Puts the old config back and waits for the agents that can follow; a sentence on what it left. */
export async function rollBack(ctx: PhaseContext, hosts: HostState[], first: WaitOutcome): Promise<string> {
  const run = switchRun(ctx);
  const p = planned(run);
  const key = configKey(ctx.cluster.etcd.prefix);
  if (!(await withEtcd(ctx, `rolling ${key} back`, (c) => swapConfig(c, ctx.cluster.etcd.prefix, p.stored.text, { value: p.target.text })))) {
    run.outcome = 'left';
    return `could not roll back: ${key} was changed by someone else meanwhile; left as it is`;
  }
  run.outcome = 'rolled-back';
  clusterChange(ctx, `rolled ${key} back to ${p.from}`);
  const dead = new Set([...first.missing].filter(([, s]) => s.state === 'dead').map(([h]) => h));
  const back = await waitForBackend(ctx, hosts.filter((h) => !dead.has(h.name)), p.from, { timeoutMs: run.opts.timeoutMs, pollMs: run.opts.pollMs });
  const ok = [...back.done.keys()];
  const parts = [`config rolled back to ${p.from}`];
  if (ok.length) parts.push(`${ok.join(', ')} ${ok.length > 1 ? 'are' : 'is'} on ${p.from} again`);
  if (back.missing.size) parts.push(`NOT back on ${p.from}: ${describeMissing(back)}`);
  for (const h of dead) {
    const lease = first.last.get(h)?.lease;
    parts.push(`${h} was not waited for (its lease says ${lease?.attrs.BackendType ?? 'nothing'}; it applies the config in etcd when its agent runs again)`);
  }
  return parts.join('; ');
}

export const waitAgentsPhase: Phase = {
  title: 'Wait for agents',
  shouldRun: (ctx) => switchRun(ctx).kind !== 'noop',
  async dryRun(ctx) {
    const run = switchRun(ctx);
    ctx.log('info', `would wait up to ${run.opts.timeoutMs / 1000} s for ${live(ctx).length} agent(s) to report ${run.opts.target} (lease BackendType and /status); if one does not: ${run.opts.force ? 'keep the new config (--force)' : 'roll the config back and wait for the agents to return'}`);
  },
  async run(ctx) {
    const run = switchRun(ctx);
    const p = planned(run);
    const hosts = live(ctx);
    const t0 = Date.now();
    const o = await waitForBackend(ctx, hosts, p.target.config.backendType, {
      timeoutMs: run.opts.timeoutMs, pollMs: run.opts.pollMs, stopOnDead: !run.opts.force,
      onDone: (h, s) => ctx.log('info', `${h}: on ${p.target.config.backendType} (${s.toFixed(1)} s)`),
      ...(ctx.options.signal ? { signal: ctx.options.signal } : {}),
    });
    for (const h of hosts) {
      const v = o.last.get(h.name);
      if (v?.subnetEnv) h.facts.subnetEnv = v.subnetEnv;
      if (o.done.has(h.name)) h.facts.agentReady = v?.status?.ready !== false;
    }
    if (!o.missing.size) {
      run.outcome = 'switched';
      ctx.log('info', `every agent is on ${p.target.config.backendType} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      await ctx.forEachHost(async (h, rec) => rec.changed(`agent on ${p.target.config.backendType} after ${o.done.get(h.name)!.toFixed(1)} s`));
      return;
    }
    const interrupted = ctx.options.signal?.aborted === true;
    for (const [h, s] of o.missing) run.notFollowed.push({ host: h, why: interrupted ? `interrupted while it was moving (${s.why})` : s.why });
    const now = await withEtcd(ctx, 'reading the network config', (c) => readConfig(c, ctx.cluster.etcd.prefix));
    // an interrupted switch is undone, --force or not: the user stopped it
    const decision = decideOnStall({ force: run.opts.force && !interrupted, configStillOurs: now?.text === p.target.text });
    if (interrupted) ctx.log('warn', `interrupted while ${o.missing.size} agent(s) had not moved yet: rolling the config back`);
    const dead = [...o.missing.values()].some((m) => m.state === 'dead');
    ctx.log('warn', `${o.missing.size} agent(s) did not follow ${dead && !run.opts.force ? `(${((Date.now() - t0) / 1000).toFixed(1)} s: an agent that cannot follow ends the wait)` : `within ${run.opts.timeoutMs / 1000} s`}: ${describeMissing(o)}`);
    let outcome: string;
    if (decision.action === 'rollback') outcome = await rollBack(ctx, hosts, o);
    else if (decision.action === 'leave') {
      run.outcome = 'left';
      outcome = `${decision.why}; nothing rolled back`;
    } else {
      run.outcome = 'forced';
      outcome = `--force: ${configKey(ctx.cluster.etcd.prefix)} stays on ${p.target.config.backendType}; the MTU and verification continue on the hosts that followed`;
    }
    ctx.log(decision.action === 'finish' ? 'warn' : 'info', outcome);
    if (decision.action === 'finish') {
      // The hosts that did not follow drop out of the rest of the run; the report fails the run at the end.
      for (const h of hosts) if (o.missing.has(h.name)) h.failed = `Wait for agents: ${o.missing.get(h.name)!.why}`;
      await ctx.forEachHost(async (h, rec) => rec.changed(`agent on ${p.target.config.backendType} after ${o.done.get(h.name)!.toFixed(1)} s`));
      return;
    }
    await ctx.forEachHost(async (h, rec) => {
      const s = o.missing.get(h.name);
      if (!s) {
        rec.info(`followed, then ${run.outcome === 'rolled-back' ? 'rolled back' : 'left'}`);
        return;
      }
      const after = run.outcome === 'rolled-back' ? `; config rolled back to ${p.from}` : run.outcome === 'left' ? '; config left as someone else wrote it' : '';
      const msg = `did not follow to ${p.target.config.backendType}: ${s.why}${after}`;
      throw s.why.startsWith('unreachable') ? new UnreachableError(msg) : new StepFailedError(msg);
    });
  },
};

/** The exit code when hosts did not follow: 3 if any was unreachable, else 4. */
export function stallExitCode(notFollowed: readonly { why: string }[]): number {
  return notFollowed.some((n) => n.why.startsWith('unreachable')) ? ExitCode.UNREACHABLE : ExitCode.STEP_FAILED;
}
