/**
 * Phase — CNI network (after Start, on `flannel_runtime: cni` hosts): the agent binary linked as the
 * flannel CNI plugin (<flannel_cni_bin_dir>/flannel, a symlink: a push renames a new binary in and the
 * link follows it; never a second copy); a cni0 bridge left with an address from an earlier lease removed
 * (the bridge plugin would refuse every new container: "cni0 already has an IP address different from …"),
 * or, when containers are still on it, named as a failure; running containers brought to subnet.env's MTU
 * in place (cni-mtu.ts). Decided from the facts: a host with nothing to do costs no round trip.
 */
import type { HostRecorder, HostState, Phase, PhaseContext } from '../framework/types.js';
import { StepFailedError } from '../../util/errors.js';
import { cniPluginLink } from '../../inventory/host-files.js';
import { CNI_BRIDGE, CNI_STATE_DIR } from '../../network/cni.js';
import { firstHost, formatIpv4, netContains, parseCidr } from '../../network/ipv4.js';
import { remoteScript } from '../../remote/remote-script.js';
import { agentPath } from '../shared/gather-facts.js';
import { gathered, networkConfig } from '../shared/host-state.js';
import type { CniFacts } from '../shared/cni-facts.js';
import { SYS_NET, describeCniMtu, parseCniMtu } from '../shared/cni-mtu.js';
import type { PreviousSubnetEnv } from '../../network/subnet-env.js';
import type { Ipv4Net } from '../../network/types.js';

export interface CniPlan {
  /** make the plugin link: [link, target] */
  link?: [string, string];
  /** cni0 carries these addresses of the flannel network that are not its gateway: delete it */
  resetBridge?: string[];
  /** containers and bridge to this MTU */
  mtu?: number;
}

/** What this host needs (pure): facts, the subnet.env the agent wrote, the flannel network. */
export function planCni(link: string, target: string, cni: CniFacts, env: PreviousSubnetEnv | undefined, network: Ipv4Net): CniPlan {
  const plan: CniPlan = {};
  if (cni.link?.kind !== 'symlink' || cni.link.target !== target) plan.link = [link, target];
  if (!cni.bridge || !env?.subnet) return plan;
  const gw = `${formatIpv4(firstHost(env.subnet))}/${env.subnet.prefixLen}`;
  const stale = cni.bridge.addrs.filter((a) => {
    const n = parseCidr(a);
    return a !== gw && !!n && netContains(network, n.ip);
  });
  if (stale.length) plan.resetBridge = stale;
  // A bridge without ports is left alone: Linux puts an empty bridge back to 1500 and lowers it again as
  // the next container's veth (at subnet.env's MTU) is attached, so its MTU then says nothing.
  else if (env.mtu !== undefined && cni.ports.length && (cni.bridge.mtu !== env.mtu || cni.ports.some((p) => p.mtu !== env.mtu))) plan.mtu = env.mtu;
  return plan;
}

declare module '../../remote/remote-script.js' {
  interface RemoteScripts {
    'cni-network': { LINK: string; TARGET: string; RESET_BRIDGE: number; BRIDGE: string; MTU: number | ''; DATA_DIR: string; SYS_NET: string };
  }
}

/** The script for a plan (src/remote/scripts/cni-network.sh). */
export function cniNetworkScript(plan: CniPlan): string {
  return remoteScript('cni-network', {
    LINK: plan.link?.[0] ?? '', TARGET: plan.link?.[1] ?? '', RESET_BRIDGE: plan.resetBridge ? 1 : 0, BRIDGE: CNI_BRIDGE,
    MTU: plan.mtu ?? '', DATA_DIR: CNI_STATE_DIR, SYS_NET,
  });
}

function hostPlan(ctx: PhaseContext, h: HostState): CniPlan | undefined {
  const cni = h.facts.cni;
  if (h.spec.flannel.runtime !== 'cni' || !cni) return undefined;
  return planCni(cniPluginLink(h.spec), agentPath(h), cni, h.facts.subnetEnv ?? gathered(h).subnetEnv, networkConfig(ctx).network);
}

async function cniHost(ctx: PhaseContext, h: HostState, rec: HostRecorder): Promise<void> {
  const plan = hostPlan(ctx, h);
  if (!plan) {
    rec.skip('not a flannel_runtime: cni host');
    return;
  }
  const ports = h.facts.cni?.ports ?? [];
  if (plan.resetBridge && ports.length) {
    throw new StepFailedError(`${CNI_BRIDGE} still has ${plan.resetBridge.join(', ')} from an earlier lease, and ${ports.length} container interface(s) are on it (${ports.map((p) => p.name).join(', ')}): new containers would be refused. Stop those containers, then run up again (it removes the old bridge)`, h.name);
  }
  if (!plan.link && !plan.resetBridge && plan.mtu === undefined) {
    rec.skip('plugin linked, bridge on the host\'s subnet and MTU');
    return;
  }
  if (ctx.options.dryRun) {
    if (plan.link) rec.changed(`would link ${plan.link[0]} -> ${plan.link[1]}`);
    if (plan.resetBridge) rec.changed(`would delete ${CNI_BRIDGE} (it has ${plan.resetBridge.join(', ')} from an earlier lease)`);
    if (plan.mtu !== undefined) rec.changed(`would set ${CNI_BRIDGE} and its containers to MTU ${plan.mtu} in place`);
    return;
  }
  if (plan.resetBridge || plan.mtu !== undefined) h.facts.cniChanged = true;
  const r = await h.remote().run(cniNetworkScript(plan), { timeoutMs: 60_000 });
  if (r.code !== 0) throw new StepFailedError(`setting up the CNI network failed: ${r.stderr.trim() || `exit ${r.code}`}`, h.name);
  if (plan.link) rec.changed(`linked ${plan.link[0]} -> ${plan.link[1]}`);
  if (plan.resetBridge) rec.changed(`deleted ${CNI_BRIDGE} (it had ${plan.resetBridge.join(', ')} from an earlier lease; the next container recreates it)`);
  if (plan.mtu !== undefined) {
    const d = describeCniMtu(parseCniMtu(r.stdout, plan.mtu));
    for (const c of d.changed) rec.changed(c);
    for (const p of d.problems) ctx.log('warn', `${h.name}: ${p}`);
  }
}

export const cniNetworkPhase: Phase = {
  title: 'CNI network',
  shouldRun: (ctx) => ctx.hosts.some((h) => h.spec.flannel.runtime === 'cni'),
  dryRun: (ctx) => ctx.forEachHost((h, rec) => cniHost(ctx, h, rec)),
  run: (ctx) => ctx.forEachHost((h, rec) => cniHost(ctx, h, rec)),
};
