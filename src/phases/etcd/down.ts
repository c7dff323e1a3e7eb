/**
 * `down --etcd`: takes the etcd cluster flanprov runs off its members — etcd stopped and disabled, its unit,
 * bootstrap file and certificates removed, a pushed binary removed (a package's is left to the package
 * manager) — after the agents and their leases are gone. The data dir is kept (a later `up` starts the same
 * cluster again from it) unless `--purge`, which deletes it and forgets the cluster on the controller
 * (cluster.json; the CA is kept, so a new cluster reuses it).
 */
import { rmSync } from 'node:fs';
import type { Phase, PhaseContext } from '../framework/types.js';
import { StepFailedError } from '../../util/errors.js';
import { EtcdRemotePaths } from '../../etcd/member-layout.js';
import { pkiLayout } from '../../etcd/pki-store.js';
import { remoteScript } from '../../remote/remote-script.js';
import { etcdMembers, managedEtcd } from '../shared/etcd-members.js';
import { MEMBER_FILES, PACKAGE_BINARY } from './member-facts.js';
import { etcdFacts } from './state.js';

declare module '../../remote/remote-script.js' {
  interface RemoteScripts {
    'etcd-down': { FILES: readonly string[]; SHA_CACHE: string; PKI_DIR: string; CONF_DIR: string; DATA_DIR: string; SET_ASIDE_SUFFIX: string; PURGE: number };
  }
}

declare module '../framework/types.js' {
  interface RunState {
    /** `down --purge`: delete the members' data dirs too */
    etcdPurge?: boolean;
  }
}

/** The member's removal (src/remote/scripts/etcd-down.sh); `binary`: a pushed binary, removed too. */
export function etcdDownScript(o: { purge: boolean; binary?: string }): string {
  return remoteScript('etcd-down', {
    FILES: [...MEMBER_FILES, ...(o.binary ? [o.binary] : [])], SHA_CACHE: EtcdRemotePaths.shaCache,
    PKI_DIR: EtcdRemotePaths.pkiDir, CONF_DIR: EtcdRemotePaths.confDir, DATA_DIR: EtcdRemotePaths.dataDir,
    SET_ASIDE_SUFFIX: EtcdRemotePaths.setAsideSuffix, PURGE: o.purge ? 1 : 0,
  });
}

async function down(ctx: PhaseContext): Promise<void> {
  const managed = managedEtcd(ctx)!;
  const purge = ctx.state.etcdPurge === true;
  const members = etcdMembers(ctx);
  await ctx.forEachHost(async (h, rec) => {
    const m = members.find((x) => x.host === h)!;
    const f = etcdFacts(h);
    const binary = m.spec.binPath !== PACKAGE_BINARY && f.binaries.has(m.spec.binPath) ? m.spec.binPath : undefined;
    if (rec.dryRun) {
      if (f.unit) rec.changed('would stop, disable and remove etcd.service');
      for (const p of f.files.keys()) rec.changed(`would remove ${p}`);
      if (binary) rec.changed(`would remove ${binary}`);
      if (f.data.kind !== 'absent') rec.changed(purge ? `would delete ${EtcdRemotePaths.dataDir} (--purge)` : `would keep ${EtcdRemotePaths.dataDir}`);
      return;
    }
    const r = await h.remote().run(etcdDownScript({ purge, ...(binary ? { binary } : {}) }), { timeoutMs: 120_000 });
    if (r.code !== 0) throw new StepFailedError(`removing etcd failed: ${r.stderr.trim()}`, h.name);
    for (const line of r.stdout.split('\n')) {
      if (line.startsWith('removed ')) rec.changed(line.slice(8));
      else if (line.startsWith('kept ')) rec.info(line);
    }
  }, { hosts: members.map((m) => m.host) });
  if (purge && !ctx.options.dryRun) {
    rmSync(pkiLayout(managed.pkiDir).record, { force: true });
    ctx.log('info', `etcd: the cluster is gone: ${pkiLayout(managed.pkiDir).record} removed (the CA in ${managed.pkiDir} is kept)`);
  }
}

export const etcdDownPhase: Phase = {
  title: 'Remove etcd',
  shouldRun: (ctx) => !!managedEtcd(ctx),
  dryRun: down,
  run: down,
};
