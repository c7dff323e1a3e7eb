/**
 * Phase 2 — Facts: one read-only script per host (OS, arch, systemd, Docker and its own command line,
 * addresses, routes, `ip route get` to peers, etcd reachability, installed agent checksum, managed files,
 * subnet.env, agent health), then the underlay interface each agent will use.
 */
import type { HostState, Phase, PhaseContext } from '../framework/types.js';
import { RemotePaths } from '../../inventory/types.js';
import { StepFailedError } from '../../util/errors.js';
import { isIpv4 } from '../../network/iproute2-json.js';
import { MANAGED_FILES, buildFactsScript, parseEtcdEndpoint, parseFacts, type EtcdEndpointAddr } from './facts.js';
import { chooseInterface } from './iface.js';
import { SEC_FN, jsonOr, parseSections, sectionsNamed, shq } from '../../remote/sections.js';
import { gathered } from './host-state.js';
import { cniFactsScript, parseCniFacts } from './cni-facts.js';
import { removeEarlyProbes, startEarlyProbes } from './verify.js';
import { closeEtcd, startEtcdDirect } from './etcd-session.js';

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

export async function gatherFacts(ctx: PhaseContext, hosts?: HostState[]): Promise<void> {
  await ctx.forEachHost(async (h) => {
    const peers = [...new Set(candidatePeers(ctx, h))];
    const cni = h.spec.flannel.runtime === 'cni';
    // a cni host's own facts come from a second script on its own channel, at the same time
    const cniRun = cni ? h.remote().run(cniFactsScript(h.spec), { timeoutMs: 30_000 }) : undefined;
    const script = buildFactsScript({
      agentPath: agentPath(h), files: cni ? [...MANAGED_FILES, RemotePaths.cniConflist] : MANAGED_FILES, peers,
      etcd: etcdEndpoints(ctx), healthzPort: h.spec.flannel.healthzPort,
    });
    const r = await h.remote().run(script, { timeoutMs: 30_000 });
    if (r.code !== 0) throw new StepFailedError(`facts script failed (exit ${r.code}): ${r.stderr.trim()}`, h.name);
    const f = parseFacts(h.name, r.stdout, RemotePaths.dockerDropIn, peers, agentPath(h));
    h.facts.gathered = f;
    if (cniRun) {
      const c = await cniRun;
      if (c.code !== 0) throw new StepFailedError(`CNI facts script failed (exit ${c.code}): ${c.stderr.trim()}`, h.name);
      h.facts.cni = parseCniFacts(c.stdout);
    }
    const sel = chooseInterface(f.interfaces, f.defaultRoute?.dev, h.spec.flannel.iface, h.spec.flannel.publicIp);
    if (sel.ok) {
      h.facts.iface = sel.iface;
      delete h.facts.ifaceError;
    } else {
      delete h.facts.iface;
      h.facts.ifaceError = sel.error;
    }
  }, hosts ? { hosts } : undefined);

  // The agents' public IPs are known only now: look up any that the first round did not (rare: an
  // interface other than the SSH address), so L2 adjacency is judged on the addresses flannel will use.
  await ctx.forEachHost(async (h) => {
    const f = gathered(h);
    const missing = ctx.hosts
      .filter((o) => o !== h && o.facts.iface && !f.routeGet.has(o.facts.iface.publicIp))
      .map((o) => o.facts.iface!.publicIp);
    if (!missing.length) return;
    const r = await h.remote().run(`${SEC_FN}\n${missing.map((p) => `sec routeget ${shq(p)}; ip -j route get ${shq(p)} 2>&1`).join('\n')}\ntrue\n`, { timeoutMs: 10_000 });
    for (const s of sectionsNamed(parseSections(r.stdout), 'routeget')) {
      const j = jsonOr<{ dst: string }[] | null>(s.body, null);
      f.routeGet.set(s.arg, j?.[0] ? (j[0] as never) : { error: s.body.trim() || 'no answer' });
    }
  }, hosts ? { hosts } : undefined);
}

export const factsPhase: Phase = {
  title: 'Gather facts',
  readOnly: true,
  run(ctx) {
    // When the command will verify (up, check), the probe containers start now, on their own channel,
    // while the facts script runs; verify takes them over (or replaces them), cleanUp removes leftovers.
    startEarlyProbes(ctx);
    // etcd's direct path needs no facts either: the connection is being made while the facts come in.
    startEtcdDirect(ctx);
    return gatherFacts(ctx);
  },
  async cleanUp(ctx) {
    await removeEarlyProbes(ctx);
    await closeEtcd(ctx);
  },
};
