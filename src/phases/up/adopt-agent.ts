/**
 * `up --adopt` — Adopt agent (issue 9.2): prepares the takeover of a foreign flanneld before flanprov's
 * unit is installed. Its unit file and drop-ins are moved aside (`<file>.flanprov-bak`, kept for the user)
 * before ours is written over or next to them, and the command that ends the old agent is handed to the
 * Start phase, which runs it in the same round trip right before it starts ours: the old process is gone
 * for well under a second, and the kernel state (vxlan device, FDB/ARP entries, routes, iptables) stays
 * throughout, so containers' traffic keeps flowing. The host keeps its subnet: our agent reuses the lease
 * of its public IP (etcd/acquire.ts), else subnet.env's subnet.
 */
import type { HostState, Phase, PhaseContext, HostRecorder } from '../framework/types.js';
import { formatNet } from '../../network/ipv4.js';
import { StepFailedError } from '../../util/errors.js';
import { remoteScript } from '../../remote/remote-script.js';
import { gathered } from '../shared/host-state.js';
import { describeFlanneld, type RunningFlanneld } from '../shared/foreign-agent.js';
import '../shared/adopt-check.js'; // RunState.adopt

declare module '../../remote/remote-script.js' {
  interface RemoteScripts { 'adopt-set-aside': { UNITS: readonly string[] } }
}

declare module '../framework/types.js' {
  interface HostFacts {
    /** what Start ends just before it starts flanprov's agent (start.sh END_UNITS / END_PIDS) */
    takeover?: Takeover;
  }
}

/** Moves the units' fragments and drop-ins aside (src/remote/scripts/adopt-set-aside.sh): the moved files, one a line. */
export function setAsideUnitsScript(units: readonly string[]): string {
  return remoteScript('adopt-set-aside', { UNITS: units });
}

/**
 * The old agents Start ends (start.sh). A unit other than flanneld.service is disabled and stopped (its
 * files are already aside); a process started from a shell gets SIGTERM by PID, SIGKILL after 5 s.
 * flanneld.service itself is ended by Start's restart of the unit, which is ours by then.
 */
export interface Takeover {
  units: string[];
  pids: number[];
}

export function takeoverOf(foreign: readonly RunningFlanneld[]): Takeover {
  return {
    units: [...new Set(foreign.flatMap((p) => (p.unit && p.unit !== 'flanneld.service' ? [p.unit] : [])))],
    pids: foreign.flatMap((p) => (p.unit ? [] : [p.pid])),
  };
}

async function adoptHost(ctx: PhaseContext, h: HostState, rec: HostRecorder): Promise<void> {
  const foreign = gathered(h).agent.foreign;
  if (!foreign.length) return rec.skip('no foreign flanneld');
  const se = gathered(h).subnetEnv?.subnet;
  const subnet = se ? formatNet(se) : undefined;
  for (const p of foreign) {
    rec.changed(`${ctx.options.dryRun ? 'would replace' : 'replacing'} ${describeFlanneld(p)}${subnet ? `; subnet ${subnet} kept` : ''}`);
  }
  if (ctx.options.dryRun) return;
  const units = [...new Set(foreign.flatMap((p) => (p.unit ? [p.unit] : [])))];
  if (units.length) {
    const r = await h.remote().run(setAsideUnitsScript(units));
    if (r.code !== 0) throw new StepFailedError(`setting the old unit files aside failed: ${r.stderr.trim()}`, h.name);
    for (const f of r.stdout.split('\n').filter(Boolean)) rec.changed(`${f} moved to ${f}.flanprov-bak`);
  }
  h.facts.takeover = takeoverOf(foreign);
}

export const adoptAgentPhase: Phase = {
  title: 'Adopt agent',
  shouldRun: (ctx) => ctx.state.adopt === true,
  dryRun: (ctx) => ctx.forEachHost((h, rec) => adoptHost(ctx, h, rec)),
  run: (ctx) => ctx.forEachHost((h, rec) => adoptHost(ctx, h, rec)),
};
