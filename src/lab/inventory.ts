/**
 * The lab's Ansible YAML inventory (DESIGN.md §2): connection vars for the lab's key and known_hosts,
 * flannel_* defaults, the etcd endpoint (and TLS files with --etcd-tls), and the hosts in group `nodes`.
 * With --no-etcd: no endpoint, and a group `etcd` of hosts (the first three, or all when fewer), so flanprov
 * provisions etcd on them (issue 11). Podman hosts carry `flannel_runtime: cni` (issue 15).
 */
import { writeFileSync } from 'node:fs';
import { clientKey, inventoryFile, knownHostsFile } from './paths.js';
import type { LabPlan } from './plan.js';
import type { TlsFiles } from './tls.js';

export const LAB_FLANNEL_NETWORK = '10.244.0.0/16';
/** Members of the `etcd` group of a --no-etcd lab: an odd number that survives the loss of one. */
export const ETCD_GROUP_SIZE = 3;

export function etcdGroupHosts(plan: LabPlan): string[] {
  return plan.hosts.slice(0, ETCD_GROUP_SIZE).map((h) => h.name);
}

/** `etcdEndpoint` undefined = the lab has no etcd (--no-etcd). */
export function renderInventory(plan: LabPlan, etcdEndpoint: string | undefined, tls?: TlsFiles): string {
  const q = (s: string): string => JSON.stringify(s); // a JSON string is a valid YAML double-quoted scalar
  const lines = [
    `# flanprov lab "${plan.name}" (${plan.topology}, ${plan.hosts.length} hosts), written by \`flanprov lab up\`; removed by \`flanprov lab down\`.`,
    'all:',
    '  vars:',
    '    ansible_user: root',
    `    ansible_ssh_private_key_file: ${clientKey(plan.name)}`,
    `    ansible_ssh_common_args: ${q(`-o UserKnownHostsFile=${knownHostsFile(plan.name)}`)}`,
    `    flannel_network: ${LAB_FLANNEL_NETWORK}`,
    '    flannel_backend: vxlan',
  ];
  if (etcdEndpoint) lines.push(`    flannel_etcd_endpoints: ${etcdEndpoint}`);
  if (tls) {
    lines.push(`    flannel_etcd_cafile: ${tls.ca}`, `    flannel_etcd_certfile: ${tls.clientCert}`, `    flannel_etcd_keyfile: ${tls.clientKey}`);
  }
  lines.push('  children:', '    nodes:', '      hosts:');
  for (const h of plan.hosts) {
    const cni = h.runtime === 'podman' ? ', flannel_runtime: cni' : '';
    lines.push(`        ${h.name}: { ansible_host: ${h.ip}${cni} }`);
  }
  if (!etcdEndpoint) {
    lines.push('    etcd:', '      hosts:');
    for (const n of etcdGroupHosts(plan)) lines.push(`        ${n}:`);
  }
  return lines.join('\n') + '\n';
}

export function writeInventory(plan: LabPlan, etcdEndpoint: string | undefined, tls?: TlsFiles): string {
  const f = inventoryFile(plan.name);
  writeFileSync(f, renderInventory(plan, etcdEndpoint, tls));
  return f;
}
