/**
 * `flanprov lab up|down|status|rootfs`: a real multi-host cluster on this Linux machine (see src/lab/).
 * Wiring only: options parsing and output; the work is in src/lab/lab.ts.
 */
import { Command, Option } from 'commander';
import { labDown, labStatuses, labUp, requireRoot, type LabStatus } from '../lab/lab.js';
import { ensureRootfs } from '../lab/rootfs.js';
import { labReboot } from '../lab/reboot.js';
import { hostNames, validateHosts, validateName, type Topology } from '../lab/plan.js';
import { parseWan, type WanSpec } from '../lab/wan.js';
import { parseRuntimes } from '../lab/runtime.js';
import { setQuiet } from '../lab/progress.js';
import { InvalidInputError } from '../util/errors.js';

function intArg(v: string): number {
  if (!/^\d+$/.test(v)) throw new InvalidInputError(`not a whole number: "${v}"`, 'lab');
  return Number(v);
}

function printStatus(list: LabStatus[]): void {
  for (const s of list) {
    process.stdout.write(`lab ${s.name}: ${s.state} · ${s.topology} · underlay ${s.underlay}${s.routedSubnet ? ` + ${s.routedSubnet} (routed)` : ''} · root veth ${s.rootVeth}\n`);
    if (s.etcd) process.stdout.write(`  etcd      ${s.etcd.endpoint} ${s.etcd.running ? 'running' : 'DOWN'}${s.etcd.tls ? ' (TLS, client certs)' : ''}${s.etcd.v2 ? ' (v2 API enabled)' : ''}\n`);
    else process.stdout.write(`  etcd      none in the lab (--no-etcd); inventory group etcd: ${s.etcdGroup?.join(', ')}\n`);
    if (s.wan) process.stdout.write(`  wan       ${s.wan.spec}: ${s.wan.description}; forwarder pid ${s.wan.pid ?? '-'} ${s.wan.running ? 'running' : 'DOWN'}\n`);
    for (const h of s.hosts) process.stdout.write(`  ${h.name.padEnd(9)} ${h.ip.padEnd(15)} ${h.running ? 'running' : 'DOWN'}  ${h.runtime.padEnd(6)} (netns ${h.ns}, supervisor pid ${h.supervisorPid ?? '-'}, nspawn pid ${h.nspawnPid ?? '-'}, init pid ${h.initPid ?? '-'})\n`);
    process.stdout.write(`  inventory ${s.inventory ?? '(not written: lab incomplete)'}\n  ssh key   ${s.sshKey}\n  known_hosts ${s.knownHosts}\n`);
  }
}

export function defineLab(lab: Command): void {
  const nameOpt = (): Option => new Option('--name <name>', 'lab name: [a-z][a-z0-9]{0,5}').default('lab');

  lab.command('up')
    .description('build (or keep) the lab: underlay namespaces, N hosts with systemd+sshd+Docker, etcd, SSH key, known_hosts, inventory')
    .option('--hosts <n>', 'number of hosts', intArg, 3)
    .addOption(new Option('--topology <t>', 'l2: one LAN; routed: the last host on another subnet behind a router').choices(['l2', 'routed']).default('l2'))
    .addOption(nameOpt())
    .option('--etcd-tls', 'etcd with TLS and client-certificate auth (certs under the lab dir, named in the inventory)', false)
    .option('--etcd-v2', "etcd also serves its v2 API (--enable-v2), for `ETCDCTL_API=2 etcdctl set ...`", false)
    .option('--no-etcd', 'no lab etcd: the inventory gets an `etcd` group (the first 3 hosts) and no flannel_etcd_endpoints')
    .option('--wan <rtt,rate>', 'latency and a shared rate limit between this namespace and the lab, e.g. 50ms,100mbit (docs/lab-wan.md)', parseWan)
    .option('--runtime <spec>', 'docker (default) | podman | HOST=RUNTIME exceptions, comma-separated: e.g. podman, h2=podman, podman,h1=docker', 'docker')
    .action(async (o: { hosts: number; topology: Topology; name: string; etcdTls: boolean; etcdV2: boolean; etcd: boolean; wan?: WanSpec; runtime: string }) => {
      validateName(o.name);
      validateHosts(o.hosts);
      const runtimes = parseRuntimes(o.runtime, hostNames(o.hosts));
      await labUp({ name: o.name, hosts: o.hosts, topology: o.topology, etcdTls: o.etcdTls, etcdV2: o.etcdV2, noEtcd: !o.etcd, wan: o.wan, runtimes });
    });

  lab.command('down')
    .description("remove the lab: its processes (by recorded PID), mounts, namespaces, root veth, cgroups and directory")
    .addOption(nameOpt())
    .action(async (o: { name: string }) => {
      await labDown(o.name);
    });

  lab.command('reboot')
    .description('reboot one lab host as a machine reboots (same addresses, host key and disk; /run and kernel network state fresh); waits until it is ready')
    .argument('<name>', 'lab name')
    .argument('<host>', 'host name (h1, h2, ...)')
    .option('--hard', 'power-cut-like: SIGKILL to the guest\'s PID 1 (no clean shutdown) instead of a clean reboot', false)
    .option('--no-wait', 'return once the reboot is started')
    .action(async (name: string, host: string, o: { hard: boolean; wait: boolean }) => {
      requireRoot();
      await labReboot(name, host, { hard: o.hard, wait: o.wait });
    });

  lab.command('status')
    .description('show the lab (or all labs when --name is not given)')
    .option('--name <name>', 'lab name (default: every lab)')
    .addOption(new Option('--output <format>', 'text or json').choices(['text', 'json']).default('text'))
    .action((o: { name?: string; output: string }) => {
      if (o.name) validateName(o.name);
      const list = labStatuses(o.name);
      if (o.output === 'json') {
        setQuiet(true);
        process.stdout.write(JSON.stringify(o.name ? (list[0] ?? null) : list, null, 2) + '\n');
        return;
      }
      if (!list.length) {
        process.stdout.write(o.name ? `no lab "${o.name}"\n` : 'no labs\n');
        return;
      }
      printStatus(list);
    });

  lab.command('rootfs')
    .description("build the lab hosts' root filesystem once (debootstrap; cached under /var/cache/flanprov)")
    .action(async () => {
      requireRoot();
      const r = await ensureRootfs();
      process.stdout.write(`${r.rootfs} (${r.cached ? 'cached' : `built in ${r.buildSeconds.toFixed(0)} s`})\n`);
    });
}
