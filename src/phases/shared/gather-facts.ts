/**
 * Phase 2 — Facts: one read-only script per host, one request (OS, arch, systemd, Docker and its own command
 * line, addresses, routes, `ip route get` to peers, etcd reachability, installed agent checksum, managed
 * files, subnet.env, agent health, a cni host's CNI facts; verify's early probe started first), then the
 * underlay interface each agent will use.
 */
import type { HostState, Phase, PhaseContext } from '../framework/types.js';
import { RemotePaths } from '../../inventory/types.js';
import { StepFailedError } from '../../util/errors.js';
import { isIpv4 } from '../../network/iproute2-json.js';
import { FACTS_END, MANAGED_FILES, buildFactsScript, parseEtcdEndpoint, parseFacts, parseRouteGets, type EtcdEndpointAddr } from './facts.js';
import { chooseInterface } from './iface.js';
import { parseSections } from '../../remote/sections.js';
import { remoteScript } from '../../remote/remote-script.js';
import { gathered } from './host-state.js';
import { cniFactsInput, parseCniFacts } from './cni-facts.js';
import { earlyProbeInput, removeEarlyProbes, setEarlyProbe } from './verify.js';
import { runUntilMarker } from '../../remote/run-until-marker.js';
import { loadHandlebars } from '../../inventory/host-files.js';
import { closeEtcd, startEtcdDirect } from './etcd-session.js';

declare module '../../remote/remote-script.js' {
  interface RemoteScripts {
    'route-get': { PEERS: readonly string[] };
  }
}

export function agentPath(h: HostState): string {
  return `${h.spec.flannel.binDir.replace(/\/$/, '')}/flanneld`;
}

export function etcdEndpoints(ctx: PhaseContext): EtcdEndpointAddr[] {
  // a managed etcd's members are checked by the etcd phases (they may not run yet)
  if (ctx.cluster.etcd.managed) return [];
  return ctx.cluster.etcd.endpoints.flatMap((u) => parseEtcdEndpoint(u) ?? []);
}

/** Addresses of the other hosts we can guess before their facts are in: their public IP or SSH address. */
function candidatePeers(ctx: PhaseContext, self: HostState): string[] {
  return ctx.hosts
    .filter((o) => o !== self)
    .flatMap((o) => [o.spec.flannel.publicIp, o.spec.connection.host])
    .filter((x): x is string => !!x && isIpv4(x));
}

/**
 * `earlyProbes`: start verify's probes in the facts script. `whileWaiting`: called once every host's facts
 * script is on its way: CPU work done then (loading etcd3, opening etcd) overlaps the hosts' own work.
 */
export async function gatherFacts(ctx: PhaseContext, hosts?: HostState[], opts: { earlyProbes?: boolean; whileWaiting?: () => void } = {}): Promise<void> {
  // the hosts whose script is not on its way yet; whileWaiting runs when none is left, at most once, and
  // never after a failed round (its phase's cleanUp may have run: nothing may be opened then)
  const unsent = new Set(hosts ?? ctx.hosts.filter((h) => !h.failed));
  let done = false;
  const sent = (h?: HostState): void => {
    if (done) return;
    if (h) unsent.delete(h);
    else unsent.clear();
    if (unsent.size) return;
    done = true;
    opts.whileWaiting?.();
  };
  try {
    await factsRound(ctx, hosts, opts, sent);
  } catch (e) {
    done = true;
    throw e;
  }
  sent();
  await routeGetRound(ctx, hosts);
}

async function factsRound(ctx: PhaseContext, hosts: HostState[] | undefined, opts: { earlyProbes?: boolean }, onSent: (h: HostState) => void): Promise<void> {
  await ctx.forEachHost(async (h) => {
    const peers = [...new Set(candidatePeers(ctx, h))];
    const cni = h.spec.flannel.runtime === 'cni';
    const probe = opts.earlyProbes ? earlyProbeInput(ctx, h) : undefined;
    const script = buildFactsScript({
      agentPath: agentPath(h), files: cni ? [...MANAGED_FILES, RemotePaths.cniConflist] : MANAGED_FILES, peers,
      etcd: etcdEndpoints(ctx), healthzPort: h.spec.flannel.healthzPort,
      ...(cni ? { cni: cniFactsInput(h.spec) } : {}), ...(probe ? { probe } : {}),
    });
    // One request: the facts are parsed as soon as their end marker arrives; the early probe's output
    // follows on the same channel while the next phases run.
    const run = runUntilMarker(h.remote(), script, FACTS_END, { timeoutMs: probe ? 60_000 : 30_000, onSent: () => onSent(h) });
    void run.done.finally(() => onSent(h)).catch(() => undefined);
    if (probe) setEarlyProbe(h, probe.kind, run.done);
    const out = await run.head;
    if (out === undefined) {
      const r = await run.done;
      throw new StepFailedError(`facts script failed (exit ${r.code ?? r.signal ?? '?'}): ${r.stderr.trim()}`, h.name);
    }
    const f = parseFacts(h.name, out, RemotePaths.dockerDropIn, peers, agentPath(h));
    h.facts.gathered = f;
    if (cni) h.facts.cni = parseCniFacts(out);
    const sel = chooseInterface(f.interfaces, f.defaultRoute?.dev, h.spec.flannel.iface, h.spec.flannel.publicIp);
    if (sel.ok) {
      h.facts.iface = sel.iface;
      delete h.facts.ifaceError;
    } else {
      delete h.facts.iface;
      h.facts.ifaceError = sel.error;
    }
  }, hosts ? { hosts } : undefined);
}

async function routeGetRound(ctx: PhaseContext, hosts: HostState[] | undefined): Promise<void> {
  // The agents' public IPs are known only now: look up any that the first round did not (rare: an
  // interface other than the SSH address), so L2 adjacency is judged on the addresses flannel will use.
  await ctx.forEachHost(async (h) => {
    const f = gathered(h);
    const missing = ctx.hosts
      .filter((o) => o !== h && o.facts.iface && !f.routeGet.has(o.facts.iface.publicIp))
      .map((o) => o.facts.iface!.publicIp);
    if (!missing.length) return;
    const r = await h.remote().run(remoteScript('route-get', { PEERS: missing }), { timeoutMs: 10_000 });
    for (const [peer, answer] of parseRouteGets(parseSections(r.stdout), missing)) f.routeGet.set(peer, answer);
  }, hosts ? { hosts } : undefined);
}

export const factsPhase: Phase = {
  title: 'Gather facts',
  readOnly: true,
  run(ctx) {
    // When the command will verify (up, check), the facts script starts the probe containers first (in
    // the same request); verify takes them over (or replaces them), cleanUp removes leftovers.
    // etcd's direct path needs no facts either: the connection is made while the facts come in, once the
    // scripts are sent (loading etcd3 and handlebars, ~200 ms of CPU, would otherwise hold up sending them).
    return gatherFacts(ctx, undefined, {
      earlyProbes: true,
      whileWaiting: () => {
        startEtcdDirect(ctx);
        loadHandlebars();
      },
    });
  },
  async cleanUp(ctx) {
    await removeEarlyProbes(ctx);
    await closeEtcd(ctx);
  },
};
