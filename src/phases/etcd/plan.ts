/**
 * etcd plan (read-only, after preflight, before anything changes): which binary every member runs (same
 * version everywhere, 3.4 or later, the right architecture), that nothing else holds the etcd ports, that
 * the CA of a recorded cluster is still there, and the membership plan (member-plan.ts: bootstrap, starts,
 * joins, removals, with their refusals). Any refusal stops the run with exit code 2, every reason listed.
 */
import type { Phase, PhaseContext } from '../framework/types.js';
import { InvalidInputError } from '../../util/errors.js';
import { planMembers, type DesiredMember, type MemberStep } from '../../etcd/member-plan.js';
import { newClusterToken } from '../../etcd/cluster-record.js';
import { EtcdRemotePaths, peerUrl } from '../../etcd/member-layout.js';
import { planPki, pkiLayout } from '../../etcd/pki-store.js';
import { etcdMembers, managedEtcd } from '../shared/etcd-members.js';
import { chooseBinary, versionProblems, type BinaryChoice } from './binary-plan.js';
import { localEtcd } from './local-etcd.js';
import { etcdFacts } from './state.js';

export async function planEtcd(ctx: PhaseContext): Promise<void> {
  const managed = managedEtcd(ctx)!;
  const members = etcdMembers(ctx);
  const refusals: string[] = [];
  const binaries = new Map<string, BinaryChoice>();
  for (const m of members) {
    const f = etcdFacts(m.host);
    if (!f.systemdPid1) refusals.push(`${m.spec.name}: systemd is not PID 1: flanprov runs etcd as a systemd service`);
    // something else on etcd's ports (e.g. the Debian package's own etcd on 2379) would fight ours
    if (f.unit?.active !== 'active' && f.listeners.length) refusals.push(`${m.spec.name}: the etcd ports are taken while etcd.service is not running: ${f.listeners.join('; ')}`);
    const local = m.spec.binary ? await localEtcd(m.spec.binary) : undefined;
    const c = chooseBinary(m.spec, f, local);
    if ('error' in c) refusals.push(`${m.spec.name}: ${c.error}`);
    else binaries.set(m.spec.name, c);
  }
  if (binaries.size === members.length) refusals.push(...versionProblems([...binaries.values()]));

  const layout = pkiLayout(managed.pkiDir);
  const record = ctx.state.etcdRecord;
  const pki = managed.tls ? planPki(managed.pkiDir, { members: managed.members, agents: ctx.hosts.map((h) => h.name) }) : undefined;
  if (pki?.newCa && record?.clusterId) {
    refusals.push(`the CA of etcd cluster ${record.clusterId} is ${pki.newCa} (${layout.ca.cert}): a new CA would lock flanprov and the agents out of the running cluster; restore ${layout.dir} from a backup`);
  }

  const desired: DesiredMember[] = members.map((m) => {
    const f = etcdFacts(m.host);
    return { name: m.spec.name, peerUrl: peerUrl(m.spec, managed.tls), dataDir: EtcdRemotePaths.dataDir, data: f.data, active: f.unit?.active === 'active' };
  });
  const plan = planMembers({
    desired, ...(record ? { record } : {}), ...(ctx.state.etcdLive ? { live: ctx.state.etcdLive } : {}),
    allowRemove: ctx.state.etcdAllowRemove === true, recordPath: layout.record,
  });
  refusals.push(...plan.refusals);
  for (const w of plan.warnings) ctx.log('warn', w);
  if (refusals.length) {
    throw new InvalidInputError(`etcd: refused; nothing was changed on any host:\n${refusals.map((r) => `✗ ${r}`).join('\n')}`);
  }
  const versions = [...new Set([...binaries.values()].map((b) => `etcd ${b.version}`))];
  const sources = [...new Set([...binaries.values()].map((b) => b.source))];
  ctx.log('info', `${versions.join(', ')} on ${members.map((m) => m.spec.name).join(', ')} (${sources.join('; ')})`);
  if (plan.steps.length) ctx.log('info', `etcd plan: ${plan.steps.map(describeStep).join('; ')}`);
  ctx.state.etcdPlan = { members: plan, binaries, ...(pki ? { pki } : {}), token: record?.token ?? newClusterToken() };
}

export function describeStep(s: MemberStep): string {
  switch (s.op) {
    case 'bootstrap': return `bootstrap ${s.members.join(', ')}`;
    case 'start': return `start ${s.member} (it has its data)`;
    case 'remove': return `member remove ${s.member} (${s.id})`;
    case 'join': return s.removeId ? `rejoin ${s.member} (no data of its own: member remove ${s.removeId}, then add)` : `join ${s.member} (member add${s.setAside ? ', its old data set aside' : ''})`;
  }
}

export const etcdPlanPhase: Phase = {
  title: 'etcd: plan',
  readOnly: true,
  shouldRun: (ctx) => !!managedEtcd(ctx),
  run: planEtcd,
};
