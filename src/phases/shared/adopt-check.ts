/**
 * Preflight's judgement of foreign flanneld processes (issue 9). Without `--adopt` a host running one is
 * refused, naming it: two agents on one host fight over the same leases, routes and subnet.env. With
 * `--adopt` the old agent's flags must describe the same network as the inventory: the etcd it talks to,
 * the prefix, the interface and ip-masq. The inventory's value always wins nothing silently: a difference
 * (even against one of flanprov's defaults) is refused naming both values and the variable to set, since
 * taking over with other settings would move the host to another network or change its NAT.
 * `flanprov adopt --write-inventory` writes an inventory that agrees by construction.
 */
import type { ClusterSpec, HostSpec, IfaceSelector } from '../../inventory/types.js';
import { describeFlanneld, foreignSettings, type RunningFlanneld } from './foreign-agent.js';

declare module '../framework/types.js' {
  interface RunState {
    /** `up --adopt`: take over hosts that run a foreign flanneld */
    adopt?: boolean;
  }
}

export interface AdoptProblem {
  check: 'foreign-agent' | 'adopt-mismatch';
  message: string;
}

/** "http://10.0.0.1:2379/" and "http://10.0.0.1:2379" are one endpoint. */
function normEndpoint(u: string): string {
  return u.trim().replace(/\/+$/, '').toLowerCase();
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const x = new Set(a.map(normEndpoint));
  const y = new Set(b.map(normEndpoint));
  return x.size === y.size && [...x].every((v) => y.has(v));
}

/** The inventory's flannel_iface as flanneld flags (-iface NAME|IP, -iface-regex RE), for comparison. */
function ifaceWords(sel: readonly IfaceSelector[]): { iface: string[]; regex: string[] } {
  return {
    iface: sel.filter((s) => s.kind !== 'regex').map((s) => s.value),
    regex: sel.filter((s) => s.kind === 'regex').map((s) => s.value),
  };
}

/** Problems for one host's foreign flanneld processes; `adopt` is whether `--adopt` was given. */
export function adoptProblems(cluster: ClusterSpec, spec: HostSpec, foreign: readonly RunningFlanneld[], adopt: boolean): AdoptProblem[] {
  if (!foreign.length) return [];
  const names = foreign.map(describeFlanneld).join('; ');
  if (!adopt) {
    return [{ check: 'foreign-agent', message: `a flanneld not installed by flanprov is running: ${names}. Run \`flanprov up --adopt\` to replace it with flanprov's agent (the host keeps its subnet), or stop it` }];
  }
  const out: AdoptProblem[] = [];
  if (foreign.length > 1) out.push({ check: 'adopt-mismatch', message: `more than one flanneld runs on this host (${names}): stop all but one before adopting` });
  for (const p of foreign) {
    const who = describeFlanneld(p);
    if (!p.flags) {
      out.push({ check: 'adopt-mismatch', message: `cannot read the flags of ${who}: ${p.parseError ?? 'unknown'} (argv: ${p.argv.join(' ')})` });
      continue;
    }
    if (p.unknownFlags.some((f) => /^--?kube-subnet-mgr(=true)?$/.test(f))) {
      out.push({ check: 'adopt-mismatch', message: `${who} runs with -kube-subnet-mgr (Kubernetes holds its leases, not etcd): flanprov cannot adopt it` });
      continue;
    }
    const s = foreignSettings(p.flags);
    const diff = (what: string, theirs: string, ours: string, variable: string) =>
      out.push({ check: 'adopt-mismatch', message: `${who} runs with ${what ? `${what} ` : ''}${theirs}, the inventory has ${ours}: set ${variable} to the old agent's value (or drop the old agent's flag first)` });
    if (s.etcdPrefix.replace(/\/+$/, '') !== cluster.etcd.prefix.replace(/\/+$/, '')) diff('-etcd-prefix', s.etcdPrefix, cluster.etcd.prefix, `flannel_etcd_prefix: ${s.etcdPrefix}`);
    if (!cluster.etcd.managed && !sameSet(s.etcdEndpoints, cluster.etcd.endpoints)) {
      diff('-etcd-endpoints', s.etcdEndpoints.join(','), cluster.etcd.endpoints.join(','), `flannel_etcd_endpoints: ${s.etcdEndpoints.join(',')}`);
    }
    const inv = ifaceWords(spec.flannel.iface);
    if (s.iface.join(',') !== inv.iface.join(',') || p.flags.ifaceRegex.join(',') !== inv.regex.join(',')) {
      const theirs = [...s.iface.map((i) => `-iface=${i}`), ...p.flags.ifaceRegex.map((r) => `-iface-regex=${r}`)].join(' ') || 'no -iface (the default route\'s interface)';
      const ours = [...inv.iface, ...inv.regex.map((r) => `/${r}/`)].join(',') || 'no flannel_iface';
      diff('', theirs, ours, `flannel_iface: [${[...s.iface, ...p.flags.ifaceRegex.map((r) => `/${r}/`)].join(', ')}]`);
    }
    if (s.ipMasq !== spec.flannel.ipMasq) diff('-ip-masq', String(s.ipMasq), `flannel_ip_masq: ${spec.flannel.ipMasq}`, `flannel_ip_masq: ${s.ipMasq}`);
    if (s.publicIp && spec.flannel.publicIp && s.publicIp !== spec.flannel.publicIp) diff('-public-ip', s.publicIp, spec.flannel.publicIp, `flannel_public_ip: ${s.publicIp}`);
  }
  return out;
}
