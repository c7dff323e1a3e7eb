/**
 * etcd files: on each member, in one script, the `etcd` user and its 0700 directories, then every member
 * file whose content, mode or owner differs — etcd.service, the CA and the member's server and peer
 * certificates and keys (0600, owned by etcd; never the CA key), and for a bootstrap the file with
 * ETCD_INITIAL_CLUSTER* (a joining member's is written when it joins: it needs the member list after
 * `member add`). What was written decides, in etcd: start, what restarts.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { HostRecorder, HostState, Phase, PhaseContext } from '../framework/types.js';
import { StepFailedError } from '../../util/errors.js';
import { EtcdRemotePaths, ETCD_USER, peerUrl } from '../../etcd/member-layout.js';
import { pkiLayout } from '../../etcd/pki-store.js';
import { writeClusterRecord } from '../../etcd/cluster-record.js';
import { newClusterBootstrap, renderBootstrapEnv, renderEtcdUnit } from '../../inventory/etcd-files.js';
import type { ManagedEtcdSpec } from '../../inventory/types.js';
import { planFiles, type DesiredFile } from '../shared/changes.js';
import { writeFilesPart } from '../../remote/upload.js';
import { remoteScripts, scriptPart, type ScriptPart } from '../../remote/remote-script.js';
import { etcdChange, etcdMembers, managedEtcd, type EtcdMemberHost } from '../shared/etcd-members.js';
import { etcdFacts } from './state.js';

declare module '../../remote/remote-script.js' {
  interface RemoteScripts {
    'etcd-member-dirs': { ETCD_USER: string; HOME_DIR: string; CONF_DIR: string; PRIVATE_DIRS: readonly string[] };
  }
}

/** etcd's home (the data dir's parent). */
const ETCD_HOME = '/var/lib/etcd';

/** The `etcd` user and its directories (src/remote/scripts/etcd-member-dirs.sh): only what is missing or wrong changes. */
function memberPrelude(): ScriptPart {
  return scriptPart('etcd-member-dirs', { ETCD_USER, HOME_DIR: ETCD_HOME, CONF_DIR: EtcdRemotePaths.confDir, PRIVATE_DIRS: [EtcdRemotePaths.pkiDir, ETCD_HOME] });
}

/** The member's TLS files: the CA certificate and its own server and peer pairs, from the PKI directory. */
function tlsFiles(managed: ManagedEtcdSpec, name: string): { path: string; local: string }[] {
  const l = pkiLayout(managed.pkiDir);
  const s = l.memberServer(name);
  const p = l.memberPeer(name);
  return [
    { path: EtcdRemotePaths.ca, local: l.ca.cert },
    { path: EtcdRemotePaths.serverCert, local: s.cert }, { path: EtcdRemotePaths.serverKey, local: s.key },
    { path: EtcdRemotePaths.peerCert, local: p.cert }, { path: EtcdRemotePaths.peerKey, local: p.key },
  ];
}

/** Every file flanprov wants on this member now (a TLS file not issued yet, in a dry run, is left out). */
export function memberFiles(ctx: PhaseContext, m: EtcdMemberHost): DesiredFile[] {
  const managed = managedEtcd(ctx)!;
  const plan = ctx.state.etcdPlan!;
  const files: DesiredFile[] = [{ path: EtcdRemotePaths.unit, content: renderEtcdUnit(m.spec, managed, plan.binaries.get(m.spec.name)!.execPath), mode: 0o644, role: 'etcd-unit' }];
  if (managed.tls) {
    for (const t of tlsFiles(managed, m.spec.name)) {
      if (existsSync(t.local)) files.push({ path: t.path, content: readFileSync(t.local, 'utf8'), mode: 0o600, role: 'etcd-tls', owner: ETCD_USER });
    }
  }
  if (plan.members.kind === 'bootstrap') {
    files.push({ path: EtcdRemotePaths.bootstrapEnv, content: renderBootstrapEnv(newClusterBootstrap(managed, plan.token)), mode: 0o600, role: 'etcd-bootstrap' });
  }
  return files;
}

async function writeMember(ctx: PhaseContext, h: HostState, m: EtcdMemberHost, rec: HostRecorder): Promise<void> {
  const f = etcdFacts(h);
  const { write } = planFiles(memberFiles(ctx, m), f.files);
  const pkiIssues = new Set(ctx.state.etcdPlan!.pki?.issue.map((c) => c.files.cert) ?? []);
  if (rec.dryRun) {
    for (const w of write) rec.changed(`would write ${w.path}`);
    const l = pkiLayout(managedEtcd(ctx)!.pkiDir);
    if (pkiIssues.has(l.memberServer(m.spec.name).cert)) rec.changed(`would write ${EtcdRemotePaths.pkiDir} (new certificates)`);
    return;
  }
  h.facts.etcdWritten = write;
  if (!write.length && f.etcdUser) { rec.skip('etcd files up to date'); return; }
  // one round trip: the user and directories, then the files (set -e from the first part on)
  const r = await h.remote().run(remoteScripts(memberPrelude(), writeFilesPart(write)), { timeoutMs: 30_000 });
  if (r.code !== 0) throw new StepFailedError(`writing etcd's files failed: ${r.stderr.trim()}`, h.name);
  for (const w of write) { rec.changed(`${w.path} written`); etcdChange(ctx, `${m.spec.name}: ${w.path} written`); }
}

async function writeAll(ctx: PhaseContext): Promise<void> {
  const plan = ctx.state.etcdPlan!;
  const managed = managedEtcd(ctx)!;
  // A bootstrap is recorded (token, members) before any member gets its files: a run that stops half-way
  // is resumed with the same token, and a data dir it left is known to be ours.
  if (plan.members.kind === 'bootstrap' && !ctx.options.dryRun && !ctx.state.etcdRecord) {
    ctx.state.etcdRecord = writeClusterRecord(pkiLayout(managed.pkiDir).record, { token: plan.token, clusterId: '', members: managed.members.map((m) => ({ name: m.name, id: '', peerUrl: peerUrl(m, managed.tls) })) });
    etcdChange(ctx, 'bootstrap recorded');
  }
  const members = etcdMembers(ctx);
  await ctx.forEachHost((h, rec) => writeMember(ctx, h, members.find((x) => x.host === h)!, rec), { hosts: members.map((m) => m.host) });
}

export const etcdFilesPhase: Phase = {
  title: 'etcd: files',
  shouldRun: (ctx) => !!managedEtcd(ctx),
  dryRun: writeAll,
  run: writeAll,
};
