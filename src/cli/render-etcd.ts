/**
 * `flanprov render` for an etcd that flanprov runs: each member's etcd.service (its flags), the file with
 * ETCD_INITIAL_CLUSTER* a bootstrap writes, and where its certificates come from. Wiring over
 * inventory/etcd-files.ts, the renderer `up` uses.
 */
import { EtcdRemotePaths } from '../etcd/member-layout.js';
import { pkiLayout } from '../etcd/pki-store.js';
import { newClusterBootstrap, renderBootstrapEnv, renderEtcdUnit } from '../inventory/etcd-files.js';
import type { ManagedEtcdSpec } from '../inventory/types.js';

export function renderEtcdMembers(managed: ManagedEtcdSpec, only?: string): string[] {
  const out: string[] = [];
  const l = pkiLayout(managed.pkiDir);
  for (const m of managed.members.filter((x) => !only || x.name === only)) {
    out.push(`### ${m.name}: ${EtcdRemotePaths.unit} (mode 0644; etcd member; ExecStart is ${m.binPath} when pushed, /usr/bin/etcd where the etcd-server package provides it)`,
      renderEtcdUnit(m, managed, m.binPath));
    out.push(`### ${m.name}: ${EtcdRemotePaths.bootstrapEnv} (mode 0600; written for a bootstrap; a member joining later gets the member list etcd returns, state existing)`,
      renderBootstrapEnv(newClusterBootstrap(managed, '<a new token, made by `up` and kept in cluster.json>')));
    if (managed.tls) {
      const s = l.memberServer(m.name);
      const p = l.memberPeer(m.name);
      out.push(`### ${m.name}: ${EtcdRemotePaths.pkiDir}/ (mode 0600, owner etcd): issued by \`up\` in ${l.dir}`,
        [[EtcdRemotePaths.ca, l.ca.cert], [EtcdRemotePaths.serverCert, s.cert], [EtcdRemotePaths.serverKey, s.key], [EtcdRemotePaths.peerCert, p.cert], [EtcdRemotePaths.peerKey, p.key]]
          .map(([r, loc]) => `# ${r} <- ${loc}`).join('\n') + '\n');
    }
  }
  return out;
}
