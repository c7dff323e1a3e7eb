/**
 * etcd start: carries out the member plan, then restarts what changed, so that at the end every member
 * answers `endpoint health`.
 *
 * 1. a bootstrap starts every member at once (each waits for the others: etcd is ready only with a quorum),
 *    then the cluster's ID and member IDs are recorded; members that have their data and do not run are
 *    started the same way;
 * 2. membership changes, one at a time, each finished before the next: `member remove`; or `member add`,
 *    the joiner's ETCD_INITIAL_CLUSTER from the member list etcd returns, start with state=existing, wait
 *    until it is healthy;
 * 3. members whose binary, unit or certificates changed and that were not just started restart one at a
 *    time, each only while every member is healthy, and each waits until it is healthy again.
 * A member "starts" with `systemctl start --no-block` and a wait on the host until the unit is active —
 * Type=notify: etcd tells systemd READY=1 once it serves as a member — so one round trip per member.
 */
import type { HostState, Phase, PhaseContext } from '../framework/types.js';
import { StepFailedError } from '../../util/errors.js';
import { addMember, listMembers, removeMember } from '../../etcd/cluster-admin.js';
import { writeClusterRecord, type ClusterRecord } from '../../etcd/cluster-record.js';
import { EtcdRemotePaths, peerUrl } from '../../etcd/member-layout.js';
import { joinInitialCluster, type MemberStep } from '../../etcd/member-plan.js';
import { pkiLayout } from '../../etcd/pki-store.js';
import { renderBootstrapEnv } from '../../inventory/etcd-files.js';
import { remoteScripts, scriptPart, type ScriptPart } from '../../remote/remote-script.js';
import { writeFilesPart } from '../../remote/upload.js';
import { withEtcd } from '../shared/etcd-session.js';
import { etcdChange, etcdMembers, managedEtcd, resetMemberClient, type EtcdMemberHost } from '../shared/etcd-members.js';
import { healthOf, observeCluster } from './health.js';
import { MEMBER_FILES } from './member-facts.js';
import { etcdFacts } from './state.js';
import { describeStep } from './plan.js';

/** Seconds a member may take to become active (a bootstrap waits for its peers). */
const ACTIVE_TIMEOUT_S = 120;

declare module '../../remote/remote-script.js' {
  interface RemoteScripts {
    'etcd-member': {
      ACTION: MemberAction['action']; SET_ASIDE: number; DAEMON_RELOAD: number; WAIT: number; R0: number | ''; AFTER: string;
      TIMEOUT: number; DATA_DIR: string; SET_ASIDE_SUFFIX: string; FILES: readonly string[];
    };
  }
}

interface MemberAction { action: 'start' | 'restart' | 'wait' | 'remove' | 'enable'; setAside?: boolean; daemonReload?: boolean; wait?: boolean; r0?: number; after?: string }

function memberScript(p: MemberAction): string {
  return remoteScripts(memberPart(p));
}

function memberPart(p: MemberAction): ScriptPart {
  return scriptPart('etcd-member', {
    ACTION: p.action, SET_ASIDE: p.setAside ? 1 : 0, DAEMON_RELOAD: p.daemonReload ? 1 : 0, WAIT: p.wait ? 1 : 0, R0: p.r0 ?? '',
    AFTER: p.after ?? p.action, TIMEOUT: ACTIVE_TIMEOUT_S, DATA_DIR: EtcdRemotePaths.dataDir, SET_ASIDE_SUFFIX: EtcdRemotePaths.setAsideSuffix,
    FILES: p.action === 'remove' ? MEMBER_FILES : [],
  });
}

/**
 * (Re)starts etcd.service without blocking (src/remote/scripts/etcd-member.sh; its data dir set aside and
 * daemon-reload first when asked) and, unless `wait` is false, waits on the host until it is active.
 * Prints `restarts=N` (NRestarts before the start) for a wait in a later round trip.
 */
export function startScript(verb: 'start' | 'restart', o: { setAside?: boolean; daemonReload?: boolean } = {}, wait = true): string {
  return memberScript({ action: verb, ...o, wait });
}

/** Waits until etcd.service is active; fails with the journal's tail when it fails, restarts (NRestarts ≠ r0) or times out. */
export function waitActiveScript(after: string, r0: number): string {
  return memberScript({ action: 'wait', r0, after });
}

function wroteUnit(h: HostState): boolean {
  return (h.facts.etcdWritten ?? []).some((f) => f.role === 'etcd-unit');
}

/** Runs a script on each member; records `what` as a change (unless undefined); returns each member's NRestarts before its start. */
async function runOn(ctx: PhaseContext, members: readonly EtcdMemberHost[], what: string, script: (m: EtcdMemberHost) => string, record = true): Promise<Map<string, number>> {
  const restarts = new Map<string, number>();
  await ctx.forEachHost(async (h, rec) => {
    const m = members.find((x) => x.host === h)!;
    const r = await h.remote().run(script(m), { timeoutMs: (ACTIVE_TIMEOUT_S + 30) * 1000 });
    if (r.code !== 0) throw new StepFailedError(`${what} failed:\n    ${r.stderr.trim().split('\n').join('\n    ')}`, h.name);
    await resetMemberClient(ctx, m.spec.name);
    const n = /^restarts=(\d+)$/m.exec(r.stdout)?.[1];
    if (n !== undefined) restarts.set(m.spec.name, Number(n));
    for (const line of r.stdout.split('\n').filter((l) => l.startsWith('set aside '))) rec.changed(line);
    if (!record) return;
    rec.changed(`etcd ${what}`);
    etcdChange(ctx, `${m.spec.name}: etcd ${what}`);
  }, { hosts: members.map((m) => m.host) });
  return restarts;
}

/** Waits until each member answers `endpoint health` (it is active already: this is the controller's own check). */
async function waitHealthy(ctx: PhaseContext, members: readonly EtcdMemberHost[], timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  await Promise.all(members.map(async (m) => {
    for (;;) {
      const h = await healthOf(ctx, m, 2000);
      if (h.healthy) return;
      if (Date.now() > end) throw new StepFailedError(`etcd is active but not healthy after ${timeoutMs / 1000} s: ${h.error ?? ''}`, m.spec.name);
      await new Promise((r) => setTimeout(r, 200));
    }
  }));
}

/** Re-reads the member list and records it (the record says which data dirs are ours). */
async function record(ctx: PhaseContext): Promise<ClusterRecord> {
  const managed = managedEtcd(ctx)!;
  const list = await withEtcd(ctx, 'listing the etcd members', (c) => listMembers(c));
  const token = ctx.state.etcdRecord?.token ?? ctx.state.etcdPlan!.token;
  const rec = writeClusterRecord(pkiLayout(managed.pkiDir).record, {
    token, clusterId: list.clusterId, members: list.members.map((m) => ({ name: m.name, id: m.id, peerUrl: m.peerUrls[0] ?? '' })),
  });
  ctx.state.etcdRecord = rec;
  return rec;
}

async function join(ctx: PhaseContext, step: Extract<MemberStep, { op: 'join' }>, m: EtcdMemberHost): Promise<void> {
  const managed = managedEtcd(ctx)!;
  if (step.removeId) {
    await withEtcd(ctx, `removing ${m.spec.name}'s old member entry`, (c) => removeMember(c, step.removeId!));
    ctx.log('info', `etcd: removed ${m.spec.name}'s old member entry ${step.removeId}`);
  }
  const added = await withEtcd(ctx, `adding ${m.spec.name} as a member`, (c) => addMember(c, peerUrl(m.spec, managed.tls)));
  ctx.log('info', `etcd: member add ${m.spec.name} (${added.id})`);
  const env = renderBootstrapEnv({ initialCluster: joinInitialCluster(added.members, added.id, m.spec.name), state: 'existing', token: ctx.state.etcdRecord!.token });
  // the bootstrap file first, in the same round trip (it is not under the data dir the start may set aside)
  const bootstrapFile = writeFilesPart([{ path: EtcdRemotePaths.bootstrapEnv, content: env, mode: 0o600 }]);
  const start = memberPart({ action: 'start', setAside: !!(step.setAside || step.removeId), daemonReload: true, wait: true });
  await runOn(ctx, [m], `joined as member ${added.id}`, () => remoteScripts(bootstrapFile, start));
  await waitHealthy(ctx, [m]);
  await record(ctx);
}

/** A member no longer in the group: `member remove`; where its host is one of ours, etcd is stopped there and its data set aside. */
async function remove(ctx: PhaseContext, step: Extract<MemberStep, { op: 'remove' }>): Promise<void> {
  await withEtcd(ctx, `removing member ${step.member}`, (c) => removeMember(c, step.id));
  etcdChange(ctx, `member remove ${step.member}`);
  ctx.log('info', `etcd: member remove ${step.member} (${step.id})`);
  await record(ctx);
  const host = ctx.hosts.find((h) => h.name === step.member && h.conn);
  if (!host) {
    ctx.log('warn', `etcd: ${step.member} is not a host of this inventory: stop etcd there yourself (systemctl disable --now etcd)`);
    return;
  }
  await ctx.forEachHost(async (h, rec) => {
    const r = await h.remote().run(memberScript({ action: 'remove' }), { timeoutMs: 60_000 });
    if (r.code !== 0) throw new StepFailedError(`stopping the removed etcd member failed: ${r.stderr.trim()}`, h.name);
    rec.changed('etcd stopped and disabled (no longer a member); its data dir set aside');
  }, { hosts: [host] });
}

declare module '../framework/types.js' {
  interface RunState {
    /** members etcd: start started without waiting (a bootstrap, or members with their data); etcd: ready waits */
    etcdStarting?: { members: string[]; boot: boolean; restarts: Map<string, number> };
  }
}

const reload = (m: EtcdMemberHost): { daemonReload: boolean } => ({ daemonReload: wroteUnit(m.host) || !etcdFacts(m.host).unit });

/** The members that were just started are healthy: the cluster serves; a bootstrap is recorded. */
async function started(ctx: PhaseContext, first: readonly EtcdMemberHost[], boot: boolean): Promise<void> {
  await waitHealthy(ctx, first);
  ctx.state.etcdServing = true;
  if (boot) {
    const rec = await record(ctx);
    ctx.log('info', `etcd: cluster ${rec.clusterId} bootstrapped (${rec.members.map((x) => `${x.name} ${x.id}`).join(', ')})`);
  }
}

/** Members whose binary, unit or certificates this run changed (they restart, unless this run starts them anyway). */
function changedMembers(ctx: PhaseContext): EtcdMemberHost[] {
  return etcdMembers(ctx).filter((m) => m.host.facts.etcdBinaryChanged || (m.host.facts.etcdWritten ?? []).some((f) => f.role === 'etcd-unit' || f.role === 'etcd-tls'));
}

/** Last: every member enabled, and every member not checked since it was (re)started answers `endpoint health`. */
async function settle(ctx: PhaseContext, confirmed: ReadonlySet<string>): Promise<void> {
  const members = etcdMembers(ctx);
  const notEnabled = members.filter((m) => !confirmed.has(m.spec.name) && etcdFacts(m.host).unit && etcdFacts(m.host).unit?.unitFileState !== 'enabled');
  if (notEnabled.length) {
    await ctx.forEachHost(async (h, rec) => {
      const r = await h.remote().run(memberScript({ action: 'enable' }), { timeoutMs: 30_000 });
      if (r.code !== 0) throw new StepFailedError(`systemctl enable etcd failed: ${r.stderr.trim()}`, h.name);
      rec.changed('etcd enabled');
    }, { hosts: notEnabled.map((m) => m.host) });
  }
  const unconfirmed = members.filter((m) => !confirmed.has(m.spec.name) && !m.host.facts.etcdHealth?.healthy);
  if (unconfirmed.length) await waitHealthy(ctx, unconfirmed, 10_000);
  ctx.state.etcdServing = true;
}

async function start(ctx: PhaseContext): Promise<void> {
  const plan = ctx.state.etcdPlan!;
  const members = etcdMembers(ctx);
  const byName = (n: string): EtcdMemberHost => members.find((m) => m.spec.name === n)!;
  const done = new Set<string>();

  if (ctx.options.dryRun) {
    for (const s of plan.members.steps) { const d = `would ${describeStep(s)}`; etcdChange(ctx, d); ctx.log('info', `etcd: ${d}`); }
    return;
  }
  // 1. bootstrap, or start members that have their data
  const boot = plan.members.steps.find((s): s is Extract<MemberStep, { op: 'bootstrap' }> => s.op === 'bootstrap');
  const first = boot ? boot.members.map(byName) : plan.members.steps.flatMap((s) => (s.op === 'start' ? [byName(s.member)] : []));
  const membership = plan.members.steps.some((s) => s.op === 'join' || s.op === 'remove');
  const restarts = changedMembers(ctx).filter((m) => !first.includes(m));
  if (first.length && !membership && !restarts.length) {
    // Nothing else needs the cluster yet: etcd: ready waits for it, while the agent travels (Push agent).
    const r = await runOn(ctx, first, boot ? 'bootstrapped' : 'started', (m) => startScript('start', reload(m), false));
    ctx.state.etcdStarting = { members: first.map((m) => m.spec.name), boot: !!boot, restarts: r };
    return;
  }
  if (first.length) {
    await runOn(ctx, first, boot ? 'bootstrapped' : 'started', (m) => startScript('start', reload(m)));
    for (const m of first) done.add(m.spec.name);
    await started(ctx, first, !!boot);
  }
  // 2. membership changes, one at a time
  for (const s of plan.members.steps) {
    if (s.op === 'join') { await join(ctx, s, byName(s.member)); done.add(s.member); }
    if (s.op === 'remove') await remove(ctx, s);
  }
  // 3. rolling restarts of what changed
  for (const m of restarts.filter((x) => !done.has(x.spec.name))) {
    const view = await observeCluster(ctx);
    const sick = members.filter((x) => !view.health.get(x.spec.name)?.healthy).map((x) => x.spec.name);
    if (sick.length) throw new StepFailedError(`not restarting etcd on ${m.spec.name} (its binary, unit or certificates changed): ${sick.join(', ')} ${sick.length > 1 ? 'are' : 'is'} not healthy, and a restart now could cost the cluster its quorum`, m.spec.name);
    const why = m.host.facts.etcdBinaryChanged ? 'binary changed' : wroteUnit(m.host) ? 'unit changed' : 'certificates changed';
    await runOn(ctx, [m], `restarted (${why})`, () => startScript('restart', reload(m)));
    await waitHealthy(ctx, [m]);
    done.add(m.spec.name);
  }
  await settle(ctx, done);
}

/** etcd: ready — waits for the members etcd: start started without waiting, then settles the rest. */
async function ready(ctx: PhaseContext): Promise<void> {
  if (ctx.options.dryRun) return;
  const pending = ctx.state.etcdStarting;
  if (!pending) return;
  delete ctx.state.etcdStarting;
  const members = pending.members.map((n) => etcdMembers(ctx).find((m) => m.spec.name === n)!);
  await runOn(ctx, members, pending.boot ? 'bootstrap' : 'start', (m) => waitActiveScript(pending.boot ? 'its bootstrap' : 'its start', pending.restarts.get(m.spec.name) ?? 0), false);
  await started(ctx, members, pending.boot);
  await settle(ctx, new Set(pending.members));
}

export const etcdStartPhase: Phase = {
  title: 'etcd: start',
  shouldRun: (ctx) => !!managedEtcd(ctx),
  dryRun: start,
  run: start,
};

export const etcdReadyPhase: Phase = {
  title: 'etcd: ready',
  shouldRun: (ctx) => !!managedEtcd(ctx),
  dryRun: ready,
  run: ready,
};
