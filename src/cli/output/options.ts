/**
 * The options every cluster command shares (-i, -F, --limit, --concurrency, --output, ...): only commander,
 * so defining a command loads nothing else (cli/main.ts loads a command's module only when it runs).
 */
import { Option, type Command } from 'commander';

export interface CommonOpts {
  /** -i, repeatable: the inventory sources in order (default ./inventory.yml) */
  inventory?: string[];
  /** -F: the OpenSSH client config file (default ~/.ssh/config) */
  sshConfig?: string;
  limit?: string;
  concurrency: string;
  concurrentUploads: string;
  dryRun?: boolean;
  output: 'text' | 'json';
  verbose?: boolean;
  acceptNewHostKeys?: boolean;
  etcdTimeout: string;
}

/** `-i` may be given several times (sources merge in order, as in Ansible). */
export const collectSources = (v: string, prev: string[] | undefined): string[] => [...(prev ?? []), v];

/** The inventory sources of a command: -i in order, else ./inventory.yml. */
export const inventorySources = (opts: { inventory?: string[] }): string[] => (opts.inventory?.length ? opts.inventory : ['./inventory.yml']);

/** -i/--inventory, -F/--ssh-config, --limit, --concurrency, --concurrent-uploads, --output, --accept-new-host-keys, -v, and --dry-run unless { dryRun: false }. */
export function addCommonOptions(c: Command, o: { dryRun?: boolean } = {}): Command {
  c.option('-i, --inventory <source>', 'Ansible inventory: a YAML or INI file, a directory, or a host list; repeat to merge several (default ./inventory.yml)', collectSources)
    .option('-F, --ssh-config <file>', 'OpenSSH client configuration file (default ~/.ssh/config, as ssh -F)')
    .option('--limit <hosts>', 'only these hosts or groups (Ansible --limit syntax: a,b  group  node*  !node3)')
    .option('--concurrency <n>', 'hosts worked on at once', '30')
    .option('--concurrent-uploads <n>', 'simultaneous agent uploads', '5')
    .addOption(new Option('--output <format>', 'text, or json (one event per line, docs/output-json.md)').choices(['text', 'json']).default('text'))
    .option('--accept-new-host-keys', 'accept and record unknown host keys (StrictHostKeyChecking=accept-new); changed keys are always refused')
    .option('--etcd-timeout <duration>', 'how long one etcd request may take (e.g. 5s, 1500ms)', '5s')
    .option('-v, --verbose', 'more detail');
  if (o.dryRun !== false) c.option('--dry-run', 'show what would change, touch nothing');
  return c;
}
