/**
 * Looking at the agents during a switch: one short script per host (unit state, GET /status, subnet.env)
 * plus one lease listing from etcd, combined into an AgentView per host; and the waiting loop built on it.
 */
import { readAgentStatus } from '../../network/agent-status.js';
import type { HostState, PhaseContext } from '../framework/types.js';
import { LeaseStore } from '../../etcd/lease-store.js';
import type { Lease } from '../../network/types.js';
import { parseSubnetEnv, type PreviousSubnetEnv } from '../../network/subnet-env.js';
import { RemotePaths } from '../../inventory/types.js';
import { parseSections, section } from '../../remote/sections.js';
import { remoteScript } from '../../remote/remote-script.js';
import { withEtcd } from '../shared/etcd-session.js';
import { followState, leaseOf, type AgentView, type FollowState } from './plan.js';

export interface Observation extends AgentView {
  subnetEnv?: PreviousSubnetEnv;
}

declare module '../../remote/remote-script.js' {
  interface RemoteScripts {
    'switch-poll': { PORT: number; SUBNET_ENV: string };
  }
}

/** One look at a host's agent (src/remote/scripts/switch-poll.sh). */
export function pollScript(port: number): string {
  return remoteScript('switch-poll', { PORT: port, SUBNET_ENV: RemotePaths.subnetEnv });
}

/** What pollScript printed, as an Observation (without the lease). */
export function parsePoll(host: string, stdout: string): Observation {
  const s = parseSections(stdout);
  const unit = section(s, 'unit')?.body.trim() || 'unknown';
  const { status } = readAgentStatus(section(s, 'status')?.body);
  const se = section(s, 'subnet_env')?.body;
  return { host, unit, ...(status !== undefined ? { status } : {}), ...(se?.trim() ? { subnetEnv: parseSubnetEnv(se) } : {}) };
}

export async function listLeases(ctx: PhaseContext): Promise<Lease[]> {
  return (await withEtcd(ctx, 'listing the leases', (c) => new LeaseStore(c, ctx.cluster.etcd.prefix).list())).leases;
}

/** The current view of each host's agent (hosts whose SSH fails are `unreachable`, never thrown). */
export async function observe(ctx: PhaseContext, hosts: readonly HostState[]): Promise<Map<string, Observation>> {
  const [leases, views] = await Promise.all([
    listLeases(ctx),
    Promise.all(hosts.map(async (h): Promise<Observation> => {
      try {
        return parsePoll(h.name, (await h.remote().run(pollScript(h.spec.flannel.healthzPort), { timeoutMs: 10_000 })).stdout);
      } catch (e) {
        return { host: h.name, unreachable: (e as Error).message };
      }
    })),
  ]);
  const out = new Map<string, Observation>();
  for (const [i, v] of views.entries()) {
    const h = hosts[i]!;
    const lease = leaseOf(leases, h.facts.iface?.publicIp, v.status);
    out.set(h.name, { ...v, ...(lease ? { lease } : {}) });
  }
  return out;
}

export interface WaitOutcome {
  /** hosts that completed, with the seconds it took */
  done: Map<string, number>;
  /** hosts still not there at the deadline, or dead (stopped agent, unreachable), with why */
  missing: Map<string, FollowState & { state: 'waiting' | 'dead' }>;
  last: Map<string, Observation>;
}

/**
 * Polls until every host's agent has completed the move to `backend` (followState "done"), until the
 * deadline, or early: once every host not done is dead (stopped agent, unreachable) for `deadGraceMs` —
 * it will not follow, no point waiting out the timeout — or, with `stopOnDead`, as soon as any host is
 * (the caller is going to roll back anyway: the sooner, the shorter the cluster stays half-moved).
 */
export async function waitForBackend(
  ctx: PhaseContext, hosts: readonly Pick<HostState, 'name'>[], backend: string,
  opts: {
    timeoutMs: number; pollMs: number; deadGraceMs?: number; stopOnDead?: boolean; onDone?: (host: string, s: number) => void;
    /** stop waiting when aborted (the run was interrupted): the hosts not done yet are "missing" */
    signal?: AbortSignal;
    /** how hosts are looked at (default: `observe`; tests pass their own) */
    look?: (hosts: readonly Pick<HostState, 'name'>[]) => Promise<Map<string, Observation>>;
  },
): Promise<WaitOutcome> {
  const look = opts.look ?? ((hs) => observe(ctx, hs as HostState[]));
  const t0 = Date.now();
  const done = new Map<string, number>();
  const deadSince = new Map<string, number>();
  let last = new Map<string, Observation>();
  let states: Map<string, FollowState>;
  const grace = opts.deadGraceMs ?? 3000;
  for (;;) {
    const pending = hosts.filter((h) => !done.has(h.name));
    last = new Map([...last, ...(await look(pending))]);
    const now = Date.now();
    states = new Map(pending.map((h) => [h.name, followState(last.get(h.name)!, backend)]));
    for (const [name, s] of states) {
      if (s.state === 'done') {
        done.set(name, (now - t0) / 1000);
        opts.onDone?.(name, (now - t0) / 1000);
      }
      if (s.state === 'dead') {
        if (!deadSince.has(name)) deadSince.set(name, now);
      } else deadSince.delete(name);
    }
    const stillPending = pending.filter((h) => !done.has(h.name));
    if (!stillPending.length) break;
    const deadLongEnough = (h: Pick<HostState, 'name'>) => deadSince.has(h.name) && now - deadSince.get(h.name)! >= grace;
    if (stillPending.every(deadLongEnough) || (opts.stopOnDead && stillPending.some(deadLongEnough)) || now - t0 >= opts.timeoutMs) break;
    if (opts.signal?.aborted) break;
    await new Promise<void>((r) => {
      const t = setTimeout(done, opts.pollMs);
      function done() { clearTimeout(t); opts.signal?.removeEventListener('abort', done); r(); }
      opts.signal?.addEventListener('abort', done, { once: true });
    });
    if (opts.signal?.aborted) break;
  }
  // The last poll looked at every host not done, so its states are the final word on them.
  const missing = new Map<string, FollowState & { state: 'waiting' | 'dead' }>();
  for (const [name, s] of states) if (s.state !== 'done') missing.set(name, s);
  return { done, missing, last };
}
