/**
 * What a hand-built cluster's running flanneld processes say about it (`adopt --write-inventory`): the
 * cluster-wide etcd settings (which must agree on every host: flannel's agents share one etcd and prefix)
 * and each host's own settings (interface, public IP, ip-masq), as inventory variables. Pure: the input is
 * each host's parsed processes (facts), the output the variables and every problem found, by host.
 */
import { DEFAULT_SUBNET_FILE } from '../../network/subnet-env.js';
import type { InventoryValue } from '../../inventory/write-inventory.js';
import { describeFlanneld, foreignSettings, type RunningFlanneld } from '../shared/foreign-agent.js';

export interface HostFlanneld {
  host: string;
  /** flanneld processes flanprov did not install */
  foreign: RunningFlanneld[];
  /** flanprov's own agent runs there (already adopted, e.g. by `up --adopt --limit`) */
  ours?: { flags: RunningFlanneld['flags'] };
}

export interface EtcdDescription {
  endpoints: string[];
  prefix: string;
  /** TLS files as paths on the hosts (the same on every host, or a problem) */
  tls: { ca?: string; cert?: string; key?: string };
  username?: string;
}

export interface ClusterDescription {
  etcd?: EtcdDescription;
  /** per host: flannel_* variables */
  hostVars: Map<string, Record<string, InventoryValue>>;
  /** where the settings came from, per host ("pid 412 /opt/flannel/flanneld (unit flanneld.service)") */
  sources: Map<string, string>;
  problems: { host: string; message: string }[];
  notes: string[];
}

const show = (v: unknown): string => (Array.isArray(v) ? v.join(',') : String(v ?? '(unset)'));

export function describeHandBuilt(hosts: readonly HostFlanneld[]): ClusterDescription {
  const out: ClusterDescription = { hostVars: new Map(), sources: new Map(), problems: [], notes: [] };
  let ref: { host: string; etcd: EtcdDescription } | undefined;
  for (const h of hosts) {
    const procs = h.foreign;
    if (!procs.length) {
      out.problems.push({
        host: h.host,
        message: h.ours
          ? 'runs flanprov\'s agent already: describe only the hosts that still run a hand-built flanneld, and add this one to the written inventory as the others'
          : 'no flanneld runs here (neither started from a shell nor by a unit): start it, or leave the host out of --hosts',
      });
      continue;
    }
    if (procs.length > 1) {
      out.problems.push({ host: h.host, message: `${procs.length} flanneld processes run here (${procs.map(describeFlanneld).join('; ')}): stop all but one first` });
      continue;
    }
    const p = procs[0]!;
    out.sources.set(h.host, describeFlanneld(p));
    if (!p.flags) {
      out.problems.push({ host: h.host, message: `the flags of ${describeFlanneld(p)} do not parse: ${p.parseError}` });
      continue;
    }
    const f = p.flags;
    if (p.unknownFlags.some((x) => /^--?kube-subnet-mgr(=true)?$/.test(x))) {
      out.problems.push({ host: h.host, message: `${describeFlanneld(p)} runs with -kube-subnet-mgr (leases in Kubernetes, not etcd): flanprov provisions etcd-based flannel` });
      continue;
    }
    const s = foreignSettings(f);
    const etcd: EtcdDescription = {
      endpoints: s.etcdEndpoints, prefix: s.etcdPrefix, tls: s.tls,
      ...(f.etcdUsername ? { username: f.etcdUsername } : {}),
    };
    if (!ref) ref = { host: h.host, etcd };
    else {
      const diffs: string[] = [];
      const a = ref.etcd;
      if (show([...a.endpoints].sort()) !== show([...etcd.endpoints].sort())) diffs.push(`-etcd-endpoints ${show(etcd.endpoints)} (${ref.host}: ${show(a.endpoints)})`);
      if (a.prefix !== etcd.prefix) diffs.push(`-etcd-prefix ${etcd.prefix} (${ref.host}: ${a.prefix})`);
      for (const k of ['ca', 'cert', 'key'] as const) if (a.tls[k] !== etcd.tls[k]) diffs.push(`-etcd-${k === 'ca' ? 'cafile' : `${k}file`} ${show(etcd.tls[k])} (${ref.host}: ${show(a.tls[k])})`);
      if (a.username !== etcd.username) diffs.push(`-etcd-username ${show(etcd.username)} (${ref.host}: ${show(a.username)})`);
      if (diffs.length) out.problems.push({ host: h.host, message: `its flanneld uses another etcd than ${ref.host}'s: ${diffs.join(', ')}; one inventory describes one cluster` });
    }
    const vars: Record<string, InventoryValue> = { flannel_ip_masq: f.ipMasq };
    const iface = [...f.iface, ...f.ifaceRegex.map((r) => `/${r}/`)];
    if (iface.length) vars.flannel_iface = iface.length === 1 ? iface[0]! : iface;
    if (f.publicIp) vars.flannel_public_ip = f.publicIp;
    out.hostVars.set(h.host, vars);
    if (f.subnetFile !== DEFAULT_SUBNET_FILE) out.notes.push(`${h.host}: its flanneld writes ${f.subnetFile}; flanprov's agent writes ${DEFAULT_SUBNET_FILE} (what reads the old file must be pointed at the new one)`);
    if (p.unknownFlags.length) out.notes.push(`${h.host}: flags flanprov's agent does not take, left out: ${p.unknownFlags.join(' ')}`);
  }
  if (ref) out.etcd = ref.etcd;
  return out;
}
