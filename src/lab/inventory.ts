/**
 * The lab's Ansible YAML inventory (DESIGN.md §2): connection vars for the lab's key and known_hosts,
 * flannel_* defaults, the etcd endpoint (and TLS files with --etcd-tls), and the hosts in group `nodes`.
 */
import { writeFileSync } from 'node:fs';
import { clientKey, inventoryFile, knownHostsFile } from './paths.js';
import type { LabPlan } from './plan.js';
import type { TlsFiles } from './tls.js';

export const LAB_FLANNEL_NETWORK = '10.244.0.0/16';

export function renderInventory(plan: LabPlan, etcdEndpoint: string, tls?: TlsFiles): string {
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
    `    flannel_etcd_endpoints: ${etcdEndpoint}`,
  ];
  if (tls) {
    lines.push(`    flannel_etcd_cafile: ${tls.ca}`, `    flannel_etcd_certfile: ${tls.clientCert}`, `    flannel_etcd_keyfile: ${tls.clientKey}`);
  }
  lines.push('  children:', '    nodes:', '      hosts:');
  for (const h of plan.hosts) lines.push(`        ${h.name}: { ansible_host: ${h.ip} }`);
  return lines.join('\n') + '\n';
}

export function writeInventory(plan: LabPlan, etcdEndpoint: string, tls?: TlsFiles): string {
  const f = inventoryFile(plan.name);
  writeFileSync(f, renderInventory(plan, etcdEndpoint, tls));
  return f;
}
