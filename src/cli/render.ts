/**
 * `flanprov render [-i INVENTORY] [--host H]`: print every file `up` would write, per host (units, Docker
 * drop-in, agent environment file, etcd TLS files by reference) and the network config for etcd. No SSH:
 * the Docker drop-in uses Debian's default dockerd command line, and says so in a comment.
 */
import type { Command } from 'commander';
import { InvalidInputError } from '../util/errors.js';
import { loadInventory } from '../inventory/load.js';
import { collectSources, inventorySources } from './output/options.js';
import { agentBinary, cniPluginLink, renderHostFiles, renderNetworkConfig } from '../inventory/host-files.js';
import { configKey } from '../etcd/keys.js';
import { renderEtcdMembers } from './render-etcd.js';

export interface RenderOpts { inventory?: string[]; host?: string; limit?: string; showSecrets?: boolean }

export function renderText(opts: RenderOpts): string {
  const cluster = loadInventory(inventorySources(opts), { ...(opts.limit ? { limit: opts.limit } : {}) });
  const hosts = opts.host ? cluster.hosts.filter((h) => h.name === opts.host) : cluster.hosts;
  if (opts.host && !hosts.length && !cluster.etcd.managed?.members.some((m) => m.name === opts.host)) {
    throw new InvalidInputError(`--host ${opts.host}: no such agent host (hosts: ${cluster.hosts.map((h) => h.name).join(', ')})`);
  }
  const out: string[] = [];
  out.push(`### etcd ${configKey(cluster.etcd.prefix)} (written once by \`up\` when absent)`, renderNetworkConfig(cluster));
  for (const h of hosts) {
    // flannel_docker auto: shown as configured (whether docker.service exists is only known on the host).
    const docker = h.flannel.docker !== false && h.flannel.runtime !== 'cni';
    for (const f of renderHostFiles({ host: h, docker, readTls: false })) {
      const note = f.role !== 'docker-dropin' ? ''
        : `; dockerd's command line is Debian's default here, \`up\` uses the host's own${h.flannel.docker === 'auto' ? '; only if docker.service exists: flannel_docker is auto' : ''}`;
      out.push(`### ${h.name}: ${f.path} (mode ${f.mode.toString(8).padStart(4, '0')}${note})`);
      if (f.role === 'agent-tls') out.push(`# ${cluster.etcd.managed ? 'issued by `up` as' : 'copied from'} ${localOf(h, f.path)}\n`);
      else if (f.role === 'agent-env' && !opts.showSecrets) out.push(f.content.replace(/^([A-Z_]+)=.*$/gm, '$1=<secret, from the environment>'));
      else out.push(f.content);
    }
    if (h.flannel.runtime === 'cni') out.push(`### ${h.name}: ${cniPluginLink(h)} -> ${agentBinary(h)} (symlink: the agent binary is flannel's CNI plugin)\n`);
  }
  if (cluster.etcd.managed) out.push(...renderEtcdMembers(cluster.etcd.managed, opts.host));
  return out.join('\n');
}

function localOf(h: { flannel: { etcdCaFile?: string; etcdCertFile?: string; etcdKeyFile?: string } }, remote: string): string {
  if (remote.endsWith('ca.pem')) return h.flannel.etcdCaFile ?? '';
  if (remote.endsWith('cert.pem')) return h.flannel.etcdCertFile ?? '';
  return h.flannel.etcdKeyFile ?? '';
}

export function defineRender(c: Command): void {
  c.option('-i, --inventory <source>', 'Ansible inventory (YAML or INI file, directory, host list); repeat to merge several (default ./inventory.yml)', collectSources)
    .option('--host <name>', 'only this host')
    .option('--limit <hosts>', 'only these hosts or groups (Ansible --limit syntax)')
    .option('--show-secrets', 'print secrets from the environment instead of a placeholder')
    .action((opts: RenderOpts) => {
      process.stdout.write(renderText(opts));
    });
}
