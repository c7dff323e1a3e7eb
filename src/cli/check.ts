/**
 * `flanprov check`: read-only health check — preflight (as for a converged cluster), every agent active and
 * ready, every host holding a lease in etcd, and the ping matrix. Changes nothing (the probes it starts are
 * removed again).
 */
import type { Command } from 'commander';
import type { Phase } from '../phases/framework/types.js';
import { VerifyFailedError } from '../util/errors.js';
import { LeaseStore } from '../etcd/lease-store.js';
import { formatNet } from '../network/ipv4.js';
import { errors, preflightRefusal } from '../phases/shared/preflight.js';
import { connectPhase } from '../phases/shared/connect.js';
import { lockPhase } from '../phases/shared/lock.js';
import { factsPhase } from '../phases/shared/gather-facts.js';
import { closeEtcd, withEtcd } from '../phases/shared/etcd-session.js';
import { runPreflight } from '../phases/shared/preflight-run.js';
import { verifyPhase } from '../phases/shared/verify.js';
import { gathered } from '../phases/shared/host-state.js';
import { runCommand } from './output/command.js';
import { addCommonOptions, type CommonOpts } from './output/options.js';
import { withEtcdFacts } from '../phases/etcd/up.js';
import { etcdCheckPhase } from '../phases/etcd/status.js';

const checkPreflight: Phase = {
  title: 'Preflight',
  readOnly: true,
  async run(ctx) {
    const errs = errors(await runPreflight(ctx, 'check'));
    if (errs.length) throw preflightRefusal('preflight problems', errs);
  },
  cleanUp: closeEtcd,
};

const agentHealth: Phase = {
  title: 'Agent health and leases',
  readOnly: true,
  async run(ctx) {
    const { leases } = await withEtcd(ctx, 'listing the leases', (c) => new LeaseStore(c, ctx.cluster.etcd.prefix).list());
    await ctx.forEachHost(async (h, rec) => {
      const f = gathered(h);
      const st = f.agent.status;
      if (f.agent.unit?.active !== 'active') throw new VerifyFailedError(`flanneld is ${f.agent.unit?.active ?? 'not installed'}`, h.name);
      if (st?.ready !== true) throw new VerifyFailedError('flanneld is running but not ready (GET /status)', h.name);
      // the data path survives an etcd outage, but the agent sees no lease or config change meanwhile
      if (!st.etcd.connected) {
        throw new VerifyFailedError(`flanneld does not reach etcd${st.etcd.detail ? ` (${st.etcd.detail})` : ''}${st.etcd.lastContact ? `; last answer ${st.etcd.lastContact}` : ''}: it will not see lease or config changes until it does`, h.name);
      }
      const ip = h.facts.iface?.publicIp;
      const lease = leases.find((l) => l.attrs.PublicIP === ip);
      if (!lease) throw new VerifyFailedError(`no lease in etcd for public IP ${ip ?? '?'}`, h.name);
      h.facts.agentReady = true;
      h.facts.subnetEnv = f.subnetEnv;
      rec.info(`agent ready, lease ${formatNet(lease.subnet)} (${lease.attrs.BackendType ?? '?'}), MTU ${st.mtu ?? '?'}`);
    });
  },
};

export function defineCheck(c: Command): void {
  addCommonOptions(c, { dryRun: false })
    .action(async (opts: CommonOpts) => {
      process.exitCode = await runCommand({
        command: 'check', opts, phases: [connectPhase, lockPhase('shared'), withEtcdFacts(factsPhase), checkPreflight, agentHealth, verifyPhase, etcdCheckPhase], state: { verify: true },
      });
    });
}
