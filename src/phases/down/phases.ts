/**
 * `down`: connect → facts → teardown (per host, script.ts) → leases (delete each host's lease in etcd once
 * its agent is stopped). Docker is restarted where its drop-in was removed, so it is back on its default
 * bridge.
 */
import type { HostState, Phase } from '../framework/types.js';
import { StepFailedError } from '../../util/errors.js';
import { LeaseStore } from '../../etcd/lease-store.js';
import { formatNet, netEquals } from '../../network/ipv4.js';
import { jsonOr, parseSections, section } from '../../remote/sections.js';
import { dockerManaged } from '../shared/preflight.js';
import { agentPath } from '../shared/gather-facts.js';
import { withEtcd } from '../shared/etcd-session.js';
import { gathered, networkConfig } from '../shared/host-state.js';
import { downScript } from './script.js';
import { cniPluginLink } from '../../inventory/host-files.js';
import { CNI_BRIDGE } from '../../network/cni.js';
import type { Ipv4Net } from '../../network/types.js';

declare module '../framework/types.js' {
  interface HostFacts {
    /** docker0's address after teardown */
    docker0After?: string;
  }
}

export const teardownPhase: Phase = {
  title: 'Tear down',
  async dryRun(ctx) {
    await ctx.forEachHost(async (h, rec) => {
      const f = gathered(h);
      if (f.agent.unit) rec.changed('would stop, disable and remove flanneld');
      for (const p of f.files.keys()) rec.changed(`would remove ${p}`);
      if (f.agent.sha256) rec.changed(`would remove ${agentPath(h)}`);
      for (const l of f.vxlanLinks) if (l.ifname.startsWith('flannel')) rec.changed(`would delete device ${l.ifname}`);
      const cni = h.facts.cni;
      if (cni?.link?.kind === 'symlink' && cni.link.target === agentPath(h)) rec.changed(`would remove ${cniPluginLink(h.spec)} (the CNI plugin link)`);
      if (cni?.bridge) rec.changed(`would delete device ${CNI_BRIDGE}${cni.ports.length ? ` (${cni.ports.length} container interface(s) on it)` : ''}, the CNI plugin's state and host-local's addresses`);
    });
  },
  async run(ctx) {
    const net = networkConfig(ctx).network;
    await ctx.forEachHost(async (h, rec) => {
      const cni = h.spec.flannel.runtime === 'cni' ? { link: cniPluginLink(h.spec), network: h.spec.flannel.cni.network } : undefined;
      const r = await h.remote().run(downScript({ agentPath: agentPath(h), network: net, docker: dockerManaged(h.spec, gathered(h)) || !!gathered(h).docker.unit, ...(cni ? { cni } : {}) }), { timeoutMs: 120_000 });
      for (const line of r.stdout.split('\n')) if (line.startsWith('removed ')) rec.changed(line.slice(8));
      if (r.code !== 0) throw new StepFailedError(`teardown failed: ${r.stderr.trim()}`, h.name);
      const d0 = jsonOr<{ addr_info?: { family: string; local: string; prefixlen: number }[] }[]>(section(parseSections(r.stdout), 'docker0')?.body, []);
      const a = d0[0]?.addr_info?.find((x) => x.family === 'inet');
      if (a) h.facts.docker0After = `${a.local}/${a.prefixlen}`;
    });
  },
};

/** The subnets a host holds: the one in its subnet.env and every lease with its public IP. */
function ownedBy(h: HostState, leases: { subnet: Ipv4Net; attrs: { PublicIP: string } }[]): Ipv4Net[] {
  const f = gathered(h);
  const ip = h.facts.iface?.publicIp;
  return leases.filter((l) => (ip && l.attrs.PublicIP === ip) || (f.subnetEnv?.subnet && netEquals(f.subnetEnv.subnet, l.subnet))).map((l) => l.subnet);
}

export const leasesPhase: Phase = {
  title: 'Remove leases',
  async dryRun(ctx) {
    const { leases } = await withEtcd(ctx, 'listing the leases', (c) => new LeaseStore(c, ctx.cluster.etcd.prefix).list());
    await ctx.forEachHost(async (h, rec) => {
      for (const sn of ownedBy(h, leases)) rec.changed(`would delete lease ${formatNet(sn)}`);
    });
  },
  async run(ctx) {
    const { leases } = await withEtcd(ctx, 'listing the leases', (c) => new LeaseStore(c, ctx.cluster.etcd.prefix).list());
    await ctx.forEachHost(async (h, rec) => {
      for (const sn of ownedBy(h, leases)) {
        const deleted = await withEtcd(ctx, `deleting the lease ${formatNet(sn)}`, (c) => new LeaseStore(c, ctx.cluster.etcd.prefix).delete(sn));
        if (deleted) rec.changed(`lease ${formatNet(sn)} deleted`);
      }
    });
  },
};

