/**
 * etcd facts (read-only, `up`, `status`, `check`, `down --etcd`): one facts script per member host
 * (member-facts.ts), and — when the PKI directory records a cluster — the cluster itself: each member's
 * health and the member list. A cluster that answers is marked serving (preflight then reads the network
 * config through it).
 */
import { existsSync } from 'node:fs';
import type { Phase, PhaseContext } from '../framework/types.js';
import { StepFailedError } from '../../util/errors.js';
import { readClusterRecord, ClusterRecordError } from '../../etcd/cluster-record.js';
import { pkiLayout } from '../../etcd/pki-store.js';
import { preloadX509 } from '../../etcd/pki.js';
import { InvalidInputError } from '../../util/errors.js';
import { closeMemberClients, etcdMembers, managedEtcd } from '../shared/etcd-members.js';
import { memberFactsScript, parseMemberFacts } from './member-facts.js';
import { observeCluster } from './health.js';
import './state.js';

export async function gatherEtcdFacts(ctx: PhaseContext): Promise<void> {
  const managed = managedEtcd(ctx)!;
  // no CA yet: certificates will be issued; the X.509 library loads while the scripts run
  if (managed.tls && !existsSync(pkiLayout(managed.pkiDir).ca.key)) preloadX509();
  const members = etcdMembers(ctx);
  const byHost = new Map(members.map((m) => [m.host, m]));
  await ctx.forEachHost(async (h) => {
    const m = byHost.get(h)!;
    const r = await h.remote().run(memberFactsScript([m.spec.binPath]), { timeoutMs: 30_000 });
    if (r.code !== 0) throw new StepFailedError(`etcd facts script failed (exit ${r.code}): ${r.stderr.trim()}`, h.name);
    h.facts.etcd = parseMemberFacts(r.stdout);
  }, { hosts: members.map((m) => m.host).filter((h) => !h.failed) });

  let record;
  try {
    record = readClusterRecord(pkiLayout(managed.pkiDir).record);
  } catch (e) {
    if (e instanceof ClusterRecordError) throw new InvalidInputError(e.message, managed.pkiDir);
    throw e;
  }
  if (record) ctx.state.etcdRecord = record;
  if (!record?.clusterId) return; // nothing bootstrapped yet: nothing to ask
  const view = await observeCluster(ctx);
  for (const m of members) {
    const hh = view.health.get(m.spec.name);
    if (hh) m.host.facts.etcdHealth = hh;
  }
  if (view.list) ctx.state.etcdMemberList = view.list;
  if (view.live) {
    ctx.state.etcdLive = view.live;
    ctx.state.etcdServing = true;
  }
}

export const etcdFactsPhase: Phase = {
  title: 'etcd: members',
  readOnly: true,
  shouldRun: (ctx) => !!managedEtcd(ctx),
  run: gatherEtcdFacts,
  cleanUp: closeMemberClients,
};
