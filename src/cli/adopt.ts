/**
 * `flanprov adopt --write-inventory FILE --hosts ADDR,…`: describe a cluster built by hand (its flanneld
 * processes' flags, etcd's network config) as an Ansible inventory, so that the next command is
 * `flanprov up --adopt -i FILE`. Read-only on every host. The SSH options are Ansible's (-u, --private-key,
 * --ssh-common-args, -b) and are written into the inventory as they were given.
 */
import { resolve } from 'node:path';
import { Option, type Command } from 'commander';
import { stringify } from 'yaml';
import { runCommand } from './output/command.js';
import type { CommonOpts } from './output/options.js';
import { loadInventoryText } from '../inventory/load.js';
import type { ClusterSpec } from '../inventory/types.js';
import type { InventoryValue } from '../inventory/write-inventory.js';
import { InvalidInputError } from '../util/errors.js';
import { connectPhase } from '../phases/shared/connect.js';
import { lockPhase } from '../phases/shared/lock.js';
import { ADOPT_WRITE_INVENTORY_PHASES, type WriteInventoryRequest } from '../phases/adopt/write-inventory.js';

export interface AdoptHost { name: string; address: string; port?: number }

/**
 * --hosts: comma-separated `ADDR`, `ADDR:PORT`, `NAME=ADDR[:PORT]` (IPv6 as `[ADDR]:PORT`). The name is the
 * inventory host name (default: the address as written).
 */
export function parseHostList(text: string): AdoptHost[] {
  const out: AdoptHost[] = [];
  for (const raw of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = raw.indexOf('=');
    const name = eq > 0 ? raw.slice(0, eq) : undefined;
    const rest = eq > 0 ? raw.slice(eq + 1) : raw;
    const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+))(?::(\d{1,5}))?$/.exec(rest);
    if (!m) throw new InvalidInputError(`--hosts: "${raw}" is not ADDR, ADDR:PORT or NAME=ADDR[:PORT]`);
    const address = m[1] ?? m[2]!;
    const port = m[3] !== undefined ? Number(m[3]) : undefined;
    if (port !== undefined && (port < 1 || port > 65535)) throw new InvalidInputError(`--hosts: "${raw}": port ${port} is not 1-65535`);
    if (name !== undefined && !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name)) throw new InvalidInputError(`--hosts: "${name}" is not an inventory host name (letters, digits, _ . -)`);
    const h: AdoptHost = { name: name ?? address, address, ...(port !== undefined ? { port } : {}) };
    if (out.some((o) => o.name === h.name)) throw new InvalidInputError(`--hosts: "${h.name}" is listed twice`);
    out.push(h);
  }
  if (!out.length) throw new InvalidInputError('--hosts lists no host');
  return out;
}

interface AdoptOpts extends Pick<CommonOpts, 'sshConfig' | 'concurrency' | 'output' | 'verbose' | 'acceptNewHostKeys' | 'etcdTimeout' | 'dryRun'> {
  writeInventory: string;
  hosts: string;
  user?: string;
  privateKey?: string;
  sshCommonArgs?: string;
  become?: boolean;
  force?: boolean;
}

/** Each host's connection variables, as the command line set them. */
export function connectionVarsOf(hosts: AdoptHost[], o: Pick<AdoptOpts, 'user' | 'privateKey' | 'sshCommonArgs' | 'become'>): Map<string, Record<string, InventoryValue>> {
  return new Map(hosts.map((h) => [h.name, {
    ...(h.address !== h.name ? { ansible_host: h.address } : {}),
    ...(h.port !== undefined ? { ansible_port: h.port } : {}),
    ...(o.user ? { ansible_user: o.user } : {}),
    ...(o.privateKey ? { ansible_ssh_private_key_file: resolve(o.privateKey) } : {}),
    ...(o.sshCommonArgs ? { ansible_ssh_common_args: o.sshCommonArgs } : {}),
    ...(o.become ? { ansible_become: true } : {}),
  }]));
}

/**
 * The hosts to describe, loaded by the inventory loader from their connection variables (so they connect
 * exactly as the written inventory will). The network and etcd are what is being found out: stand-ins fill
 * the loader's required settings, and no etcd endpoint is probed by the facts.
 */
function discoveryCluster(hosts: AdoptHost[], vars: Map<string, Record<string, InventoryValue>>, sshConfig?: string): ClusterSpec {
  const text = stringify({
    all: {
      vars: { flannel_network: '10.244.0.0/16', flannel_etcd_endpoints: ['http://127.0.0.1:2379'] },
      children: { nodes: { hosts: Object.fromEntries(hosts.map((h) => [h.name, vars.get(h.name)])) } },
    },
  });
  const cluster = loadInventoryText(text, resolve('--hosts'), sshConfig ? { sshConfigFile: sshConfig } : {});
  cluster.etcd.endpoints = [];
  return cluster;
}

export function defineAdopt(c: Command): void {
  c.requiredOption('--write-inventory <file>', 'write the Ansible inventory that describes the running cluster to FILE ("-": standard output)')
    .requiredOption('--hosts <list>', 'the hosts: ADDR, ADDR:PORT or NAME=ADDR[:PORT], comma-separated')
    .option('-u, --user <user>', 'SSH user (ansible_user; default: the local user, or ssh_config\'s)')
    .option('--private-key <file>', 'SSH private key (ansible_ssh_private_key_file)')
    .option('--ssh-common-args <args>', 'extra ssh options, e.g. "-o UserKnownHostsFile=…" (ansible_ssh_common_args)')
    .option('-b, --become', 'run as root through sudo (ansible_become)')
    .option('-F, --ssh-config <file>', 'OpenSSH client configuration file (default ~/.ssh/config, as ssh -F)')
    .option('--force', 'replace FILE when it exists')
    .option('--concurrency <n>', 'hosts worked on at once', '30')
    .addOption(new Option('--output <format>', 'text, or json (one event per line, docs/output-json.md)').choices(['text', 'json']).default('text'))
    .option('--accept-new-host-keys', 'accept and record unknown host keys (StrictHostKeyChecking=accept-new); changed keys are always refused')
    .option('--etcd-timeout <duration>', 'how long one etcd request may take (e.g. 5s, 1500ms)', '5s')
    .option('--dry-run', 'print the inventory instead of writing it')
    .option('-v, --verbose', 'more detail')
    .action(async (o: AdoptOpts) => {
      const opts: CommonOpts = { ...o, concurrentUploads: '1' };
      let text: string | undefined;
      const request: WriteInventoryRequest = {
        file: o.writeInventory, force: !!o.force, connectionVars: new Map(),
        ...(o.sshConfig ? { sshConfig: o.sshConfig } : {}),
        ...(process.env.FLANPROV_ETCD_PASSWORD !== undefined ? { etcdPassword: process.env.FLANPROV_ETCD_PASSWORD } : {}),
      };
      const printed = o.writeInventory === '-' || !!o.dryRun;
      const code = await runCommand({
        command: 'adopt', opts,
        phases: ADOPT_WRITE_INVENTORY_PHASES(connectPhase, lockPhase('shared')),
        // parsed inside the run, so that bad --hosts is reported (and logged) like a bad inventory
        cluster: () => {
          const hosts = parseHostList(o.hosts);
          request.connectionVars = connectionVarsOf(hosts, o);
          return discoveryCluster(hosts, request.connectionVars, o.sshConfig);
        },
        state: { writeInventory: request },
        after: (_cluster, state) => { text = state.writtenInventory; },
        // the printed inventory alone on stdout (progress and the summary on stderr)
        ...(printed ? { reporterStream: process.stderr } : {}),
      });
      if (code === 0 && text !== undefined && printed) process.stdout.write(text);
      process.exitCode = code;
    });
}
