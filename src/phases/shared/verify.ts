/**
 * Phase 8 — Verify: a probe on every host (a container from flanprov-probe:1 — Docker's, or on a
 * `flannel_runtime: cni` host Podman's on the CNI network — or a network namespace where neither runs), all-pairs pings between the probes plus one full-MTU don't-fragment ping per
 * pair, printed as a matrix. Failures name the pair and the likely cause; probes are removed afterwards,
 * also when verification fails. Exit code 5 when any pair fails.
 */
import type { HostState, Phase, PhaseContext } from '../framework/types.js';
import { StepFailedError, VerifyFailedError } from '../../util/errors.js';
import { firstHost, formatIpv4, netContains, parseCidr, parseIpv4 } from '../../network/ipv4.js';
import {
  PING_END, buildMatrix, diagnose, matrixOk, parsePingOutput, parseProbe, pingScript, probeRemoveScript, probeStartScript,
  type DiagHost, type PingResult, type Probe, type ProbeKind,
} from './ping-matrix.js';
import { dockerManaged } from './preflight.js';
import type { VerifyMatrix } from '../framework/events.js';
import { gathered } from './host-state.js';
import { RemotePaths } from '../../inventory/types.js';
import { cniPluginLink } from '../../inventory/host-files.js';
import { parseSections, section } from '../../remote/sections.js';
import type { RemoteSession, RunResult } from '../../remote/types.js';
import { FACTS_END, type EarlyProbeInput } from './facts.js';
import { PROBE_IMAGE, PROBE_NAME } from '../../network/probe.js';

/**
 * How long failing pairs are retried after the first round, and after each round that had fewer failing
 * pairs than the one before (routes still arriving: on a loaded controller or a big fleet the last agents
 * learn their peers later), up to RETRY_MAX_MS in all. A round without progress does not extend it.
 */
const RETRY_MS = 10_000;
const RETRY_MAX_MS = 30_000;

declare module '../framework/types.js' {
  interface RunState {
    /** the command ends with the verify phase (up without --no-verify, check, switch-backend): probes start with the facts */
    verify?: boolean;
  }
}

function probeKind(h: HostState): ProbeKind {
  if (h.spec.flannel.runtime === 'cni' && h.facts.cni?.podman) return 'podman';
  return dockerManaged(h.spec, gathered(h)) ? 'docker' : 'netns';
}

/**
 * The early probe the facts script starts on a host that may have Docker (or, on a `cni` host already set
 * up, Podman on the flannel network), before its facts, so a run that changes nothing does not wait for
 * `docker run`/`podman run` after the facts (it is most of verify's time). Only a probe container (removed
 * again in every outcome), never in a dry run. Hosts without the runtime report status 3.
 */
export function earlyProbeInput(ctx: PhaseContext, h: HostState): EarlyProbeInput | undefined {
  if (ctx.state.verify !== true || ctx.options.dryRun) return undefined;
  const base = { name: PROBE_NAME, image: PROBE_IMAGE };
  // a container gets the CNI network only once the conflist, the plugin link and subnet.env are in place
  if (h.spec.flannel.runtime === 'cni') return { ...base, kind: 'podman', network: h.spec.flannel.cni.network, needs: [RemotePaths.cniConflist, RemotePaths.subnetEnv, cniPluginLink(h.spec)] };
  if (h.spec.flannel.docker !== false) return { ...base, kind: 'docker', network: '', needs: [] };
  return undefined;
}

/**
 * Keeps the facts request's result as the host's early probe: what follows FACTS_END (the facts are parsed
 * already); its status is the `probe_rc` section.
 */
export function setEarlyProbe(h: HostState, kind: ProbeKind, done: Promise<RunResult>): void {
  h.facts.earlyProbeKind = kind;
  h.facts.earlyProbe = done.then((r) => {
    const at = r.stdout.indexOf(`\n${FACTS_END}\n`);
    const stdout = at < 0 ? r.stdout : r.stdout.slice(at);
    const rc = section(parseSections(stdout), 'probe_rc')?.body.trim();
    return { code: rc ? Number(rc) : null, stdout };
  }, () => undefined);
}

/** A probe's address is in the host's flannel subnet (docker0's, from subnet.env). */
function inSubnet(p: Probe, subnet: string | undefined): boolean {
  const sn = subnet ? parseCidr(subnet) : undefined;
  const ip = parseIpv4(p.ip);
  return !!sn && ip !== undefined && netContains(sn, ip);
}

/**
 * An early probe still usable for verify: started, of the kind verify uses, on the host's flannel subnet,
 * and nothing it depends on changed since (Docker restarted; on a cni host, the bridge or MTU changed: the
 * probe must have subnet.env's MTU).
 */
async function takeEarlyProbe(h: HostState, subnet: string | undefined, mtu: number | undefined): Promise<{ probe?: Probe; started: boolean; kind: ProbeKind }> {
  const early = h.facts.earlyProbe;
  const kind = h.facts.earlyProbeKind ?? 'docker';
  delete h.facts.earlyProbe;
  if (!early) return { started: false, kind };
  const r = await early;
  if (!r || r.code !== 0) return { started: r?.code !== 3 && r !== undefined, kind };
  const p = parseProbe(kind, r.stdout);
  const current = kind === 'docker' ? !h.facts.dockerRestarted : !h.facts.cniChanged && p?.mtu === mtu;
  return { started: true, kind, ...(p && inSubnet(p, subnet) && current && probeKind(h) === kind ? { probe: p } : {}) };
}

/** facts phase cleanUp: remove early probes that verify did not take over (a failed or refused run). */
export async function removeEarlyProbes(ctx: PhaseContext): Promise<void> {
  await Promise.all(ctx.hosts.map(async (h) => {
    const early = h.facts.earlyProbe;
    if (!early) return;
    delete h.facts.earlyProbe;
    const r = await early;
    if (r && r.code !== 3) await h.conn?.run(probeRemoveScript(h.facts.earlyProbeKind ?? 'docker'), { timeoutMs: 30_000 }).catch(() => undefined);
  }));
}

export interface VerifyOutcome {
  matrix: VerifyMatrix;
  ok: boolean;
  problems: string[];
}

/** Starts probes, pings all pairs, removes probes. Never throws for failed pings (see the outcome). */
export async function verifyCluster(ctx: PhaseContext): Promise<VerifyOutcome> {
  const hosts = ctx.hosts.filter((h) => !h.failed);
  const started: HostState[] = [];
  const sessions = new Map<HostState, RemoteSession>();
  const t0 = Date.now();
  try {
    await ctx.forEachHost(async (h) => {
      const kind = probeKind(h);
      const se = h.facts.subnetEnv ?? gathered(h).subnetEnv;
      const subnet = se?.subnet ? `${formatIpv4(firstHost(se.subnet))}/${se.subnet.prefixLen}` : undefined;
      const early = await takeEarlyProbe(h, subnet, se?.mtu);
      if (early.started) started.push(h);
      // An early probe of another kind than verify's (e.g. a namespace where Docker is not managed) is
      // removed here; one of the same kind is replaced by the start below (it removes a leftover by name).
      if (early.started && kind !== early.kind) await h.remote().run(probeRemoveScript(early.kind), { timeoutMs: 30_000 });
      if (early.probe) {
        h.facts.probe = early.probe;
        return;
      }
      // the probe the start script started after Docker's restart (start.ts), on the new docker0
      const fromStart = h.facts.startProbe;
      delete h.facts.startProbe;
      if (fromStart && kind === 'docker' && inSubnet(fromStart, subnet)) {
        if (!started.includes(h)) started.push(h);
        h.facts.probe = fromStart;
        return;
      }
      // No usable early probe (Docker restarted, subnet changed, no Docker): start one now (replaces a stale one).
      const r = await h.remote().run(probeStartScript(kind, { ...(subnet ? { subnet } : {}), ...(se?.mtu ? { mtu: se.mtu } : {}), network: h.spec.flannel.cni.network }), { timeoutMs: 60_000 });
      if (!started.includes(h)) started.push(h);
      const p = parseProbe(kind, r.stdout);
      if (r.code !== 0 || !p) throw new StepFailedError(`starting the ${kind} probe failed: ${r.stderr.trim() || 'no address'}`, h.name);
      h.facts.probe = p;
    });
    ctx.log('debug', `probes ready after ${Date.now() - t0} ms`);
    const bySource = new Map<string, PingResult[]>();
    const diag = new Map<string, DiagHost>();
    for (const h of hosts) {
      const f = gathered(h);
      // The FORWARD facts are from before this run's Start: an agent (re)started since has made FLANNEL-FWD
      // itself, so they would accuse a chain that is there now. Only a host left as it was is judged on them.
      const forwardCurrent = !h.facts.startPlan?.restartAgent;
      diag.set(h.name, {
        name: h.name, publicIp: h.facts.iface?.publicIp ?? '', agentReady: h.facts.agentReady ?? f.agent.status?.ready === true,
        flannelFwd: f.forward.flannelFwd, ...(f.forward.policy && forwardCurrent ? { forwardPolicy: f.forward.policy } : {}), ...(h.facts.probe ? { probe: h.facts.probe } : {}),
      });
    }
    // Agents report ready before every peer's route is programmed (as flannel does), so a pair that fails
    // right after a start is pinged again for a while before it counts as failed.
    // The first round runs in open sessions that wait for a verdict: when every pair passed, `remove` takes
    // the probes down without a request of their own, and only once no host pings them any more.
    const started0 = Date.now();
    let deadline = started0 + RETRY_MS;
    let failing = Infinity;
    let pending = new Map(hosts.map((h) => [h.name, hosts.filter((o) => o !== h && o.facts.probe).map((o) => o.name)]));
    for (let round = 0; pending.size; round++) {
      if (round) await new Promise((r) => setTimeout(r, 500));
      await ctx.forEachHost(async (h) => {
        const targets = (pending.get(h.name) ?? []).map((n) => ({ host: n, ip: ctx.host(n).facts.probe!.ip }));
        const stdout = round === 0
          ? await pingInSession(h, pingScript(h.facts.probe!, targets, { verdict: true }), sessions)
          : (await h.remote().run(pingScript(h.facts.probe!, targets), { timeoutMs: 60_000 })).stdout;
        const parsed = parsePingOutput(stdout);
        const prev = (bySource.get(h.name) ?? []).filter((x) => !targets.some((t) => t.host === x.host));
        bySource.set(h.name, [...prev, ...parsed.results]);
        diag.get(h.name)!.routeGet = parsed.routeGet;
      }, { hosts: hosts.filter((h) => pending.get(h.name)?.length) });
      const next = new Map<string, string[]>();
      for (const [src, results] of bySource) {
        const bad = results.filter((x) => !(x.ok && x.mtuOk)).map((x) => x.host);
        if (bad.length) next.set(src, bad);
      }
      if (round === 0) giveVerdict(sessions, next.size ? 'keep' : 'remove', started);
      const nowFailing = [...next.values()].reduce((n, l) => n + l.length, 0);
      if (nowFailing < failing && round) deadline = Math.min(started0 + RETRY_MAX_MS, Date.now() + RETRY_MS);
      failing = nowFailing;
      if (!next.size || Date.now() > deadline) break;
      pending = next;
    }
    const messages = new Map<string, string>();
    const problems: string[] = [];
    for (const [src, results] of bySource) {
      for (const r of results) {
        if (r.ok && r.mtuOk) continue;
        const why = diagnose(diag.get(src)!, diag.get(r.host)!, r);
        messages.set(`${src}>${r.host}`, why);
        problems.push(`${src} → ${r.host}: ${why}`);
      }
    }
    ctx.log('debug', `ping matrix done after ${Date.now() - t0} ms`);
    const matrix = buildMatrix(hosts.map((h) => h.name), bySource, messages);
    return { matrix, ok: matrixOk(matrix), problems };
  } finally {
    // A session still waiting (a host failed mid-round) removes its own probe; the others are removed by a
    // removal started on the host and not waited for (see probeRemoveScript): the run does not pay for it.
    giveVerdict(sessions, 'remove', started);
    await Promise.all(started.map((h) => h.remote().run(probeRemoveScript(probeKind(h), { background: true }), { timeoutMs: 30_000 }).catch(() => undefined)));
  }
}

/** How long a ping round in a session may take before its output counts as what it is (ping -W 1 -c 3). */
const SESSION_ROUND_MS = 60_000;

/**
 * Runs a verdict-mode ping script in an open session (one request): its output up to the PING_END marker
 * (or all of it, when it ended or the round took too long). The session stays open, waiting for its verdict.
 */
async function pingInSession(h: HostState, script: string, sessions: Map<HostState, RemoteSession>): Promise<string> {
  const s = await h.remote().openSession(script);
  sessions.set(h, s);
  const lines: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<undefined>((r) => { timer = setTimeout(() => r(undefined), SESSION_ROUND_MS); });
  try {
    for (;;) {
      const l = await Promise.race([s.nextLine(), timedOut]);
      if (l === undefined || l === PING_END) break;
      lines.push(l);
    }
  } finally {
    clearTimeout(timer);
  }
  return lines.join('\n');
}

/**
 * Tells every waiting session what to do with its probe and ends it: `remove` (the host takes it down by
 * itself, so it leaves `started`, the list of probes the run still has to remove) or `keep`.
 */
function giveVerdict(sessions: Map<HostState, RemoteSession>, verdict: 'keep' | 'remove', started: HostState[]): void {
  for (const [h, s] of sessions) {
    s.write(`${verdict}\n`);
    s.end();
    const i = started.indexOf(h);
    if (verdict === 'remove' && i >= 0) started.splice(i, 1);
  }
  sessions.clear();
}

export const verifyPhase: Phase = {
  title: 'Verify',
  readOnly: true,
  shouldRun: (ctx) => !ctx.options.dryRun && ctx.state.verify === true,
  async run(ctx) {
    const v = await verifyCluster(ctx);
    // The reporters print the matrix from this event (plain/listr as a table, JSON as data).
    ctx.reporter.emit({ event: 'verify.matrix', ...v.matrix });
    if (!v.ok) throw new VerifyFailedError(`verification failed:\n${v.problems.map((p) => `  ${p}`).join('\n')}`);
  },
};
