/**
 * etcd binary: on each member, what the plan chose — nothing (the package's or an up-to-date pushed
 * binary), the host's package (`apt-get install etcd-server`, services kept from starting by policy-rc.d:
 * our unit starts etcd, not the package's postinst), or the controller's binary pushed like the agent (only
 * when its sha256 differs; shared/push-binary.ts). A package that cannot be installed (the host's mirror
 * unreachable after all) falls back to pushing the controller's binary when it is the same version.
 */
import type { HostRecorder, HostState, Phase, PhaseContext } from '../framework/types.js';
import { StepFailedError } from '../../util/errors.js';
import { localBinary, pushIfDifferent } from '../shared/push-binary.js';
import { etcdChange, etcdMembers, managedEtcd, type EtcdMemberHost } from '../shared/etcd-members.js';
import { ETCD_PACKAGE } from './member-facts.js';
import { remoteScript } from '../../remote/remote-script.js';
import { localEtcd } from './local-etcd.js';
import type { BinaryChoice } from './binary-plan.js';
import { etcdFacts } from './state.js';

declare module '../../remote/remote-script.js' {
  interface RemoteScripts {
    'etcd-apt-install': { PACKAGE: string; POLICY_RC: string };
  }
}

/** apt-get install of the etcd package, no service started (src/remote/scripts/etcd-apt-install.sh). */
export function aptInstallScript(): string {
  return remoteScript('etcd-apt-install', { PACKAGE: ETCD_PACKAGE, POLICY_RC: '/usr/sbin/policy-rc.d' });
}

async function push(ctx: PhaseContext, h: HostState, rec: HostRecorder, m: EtcdMemberHost, c: BinaryChoice, path: string): Promise<void> {
  const bin = await localBinary(path);
  if (await pushIfDifferent(h, rec, { binary: bin, remotePath: m.spec.binPath, remoteSha256: etcdFacts(h).binaries.get(m.spec.binPath)?.sha256, transfer: m.spec.host.flannel.transfer, what: `etcd ${c.version}` })) {
    h.facts.etcdBinaryChanged = true;
    etcdChange(ctx, `${m.spec.name}: etcd ${c.version} ${rec.dryRun ? 'would be ' : ''}pushed`);
  }
}

async function install(ctx: PhaseContext): Promise<void> {
  const plan = ctx.state.etcdPlan!;
  const members = etcdMembers(ctx);
  await ctx.forEachHost(async (h, rec) => {
    const m = members.find((x) => x.host === h)!;
    const c = plan.binaries.get(m.spec.name)!;
    if (c.action === 'none') { rec.skip(`etcd ${c.version} (${c.source})`); return; }
    if (c.action === 'push') return push(ctx, h, rec, m, c, c.local!.path);
    if (rec.dryRun) { rec.changed(`would install ${ETCD_PACKAGE} (${c.source})`); return; }
    const r = await h.remote().run(aptInstallScript(), { timeoutMs: 330_000 });
    if (r.code === 0) {
      rec.changed(`${ETCD_PACKAGE} installed (etcd ${c.version})`);
      etcdChange(ctx, `${m.spec.name}: ${ETCD_PACKAGE} installed`);
      h.facts.etcdBinaryChanged = true;
      return;
    }
    const local = m.spec.binary ? await localEtcd(m.spec.binary) : undefined;
    if (local?.version !== c.version) {
      throw new StepFailedError(`apt-get install ${ETCD_PACKAGE} failed: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`, h.name,
        'set flannel_etcd_install: push (the controller\'s etcd, flannel_etcd_binary) if the host cannot reach its package mirror');
    }
    rec.info(`apt-get install ${ETCD_PACKAGE} failed (${r.stderr.trim().split('\n').pop()}); pushing the controller's etcd ${local.version} instead`);
    c.action = 'push';
    c.execPath = m.spec.binPath;
    c.source = `pushed from ${local.path}`;
    c.local = local;
    await push(ctx, h, rec, m, c, local.path);
  }, { hosts: members.map((m) => m.host), limit: 'uploads' });
}

export const etcdBinaryPhase: Phase = {
  title: 'etcd: binary',
  shouldRun: (ctx) => !!managedEtcd(ctx),
  dryRun: install,
  run: install,
};
