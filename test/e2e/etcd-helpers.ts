/**
 * Helpers for the e2e tests of an etcd that flanprov runs itself, on labs made with `lab up --no-etcd` (no
 * lab etcd; the inventory has an `etcd` group and no flannel_etcd_endpoints): inventory variants that share
 * the lab inventory's PKI directory, etcdctl with the controller's client certificate, the unit state that
 * proves "not restarted", and a real data dir of another cluster.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { pkiLayout } from '../../src/etcd/pki-store.js';
import { defaultPkiDir } from '../../src/inventory/managed-etcd.js';
import { LABS, sh, type Lab, type Out } from './up-helpers.js';

/** Where a lab's managed-etcd inventory is written (inside the lab's dir: `lab down` removes it with its PKI dir). */
export function managedInventory(lab: Lab): string {
  return join(LABS, lab.name, 'managed.yml');
}

/** The lab inventory's PKI directory (inventory.yml → inventory.etcd-pki): every variant uses it too. */
export function pkiDirOf(lab: Lab): string {
  return defaultPkiDir(lab.inventory, dirname(lab.inventory));
}

/**
 * Writes a variant of the lab's inventory with `etcd` = `members` and `nodes` = `nodes` (default: every lab
 * host), the lab inventory's PKI directory; `edit` may change more. Always the same file.
 */
export function writeManaged(lab: Lab, members: string[], o: { nodes?: string[]; edit?: (inv: any) => void } = {}): string {
  const inv = parse(readFileSync(lab.inventory, 'utf8'));
  delete inv.all.vars.flannel_etcd_endpoints;
  inv.all.vars.flannel_etcd_pki_dir = pkiDirOf(lab);
  const all = inv.all.children.nodes.hosts as Record<string, { ansible_host: string }>;
  const nodes = o.nodes ?? Object.keys(all);
  inv.all.children.nodes.hosts = Object.fromEntries(nodes.map((n) => [n, all[n]]));
  inv.all.children.etcd = { hosts: Object.fromEntries(members.map((m) => [m, null])) };
  o.edit?.(inv);
  const file = managedInventory(lab);
  writeFileSync(file, stringify(inv));
  return file;
}

export function endpointsOf(lab: Lab, members: string[]): string {
  return members.map((m) => `https://${lab.hosts.find((h) => h.name === m)!.ip}:2379`).join(',');
}

/** etcdctl (v3) from the controller with the controller's client certificate. */
export function etcdctl(lab: Lab, members: string[], args: string[]): Promise<Out> {
  const l = pkiLayout(pkiDirOf(lab));
  return sh('etcdctl', [`--endpoints=${endpointsOf(lab, members)}`, `--cacert=${l.ca.cert}`, `--cert=${l.controller.cert}`, `--key=${l.controller.key}`,
    '--dial-timeout=2s', '--command-timeout=5s', ...args], 30_000);
}

/** Per host: etcd, flanneld and docker as "ActiveEnterTimestampMonotonic MainPID" (a restart changes both). */
export const ALL_UNITS_STATE = 'for u in etcd flanneld docker; do echo "$u $(systemctl show -p ActiveEnterTimestampMonotonic --value $u) $(systemctl show -p MainPID --value $u)"; done';

/**
 * Leaves a real data dir of another etcd cluster at the managed data dir on `host`: the controller's etcd,
 * copied there, run once on loopback-only ports (a one-member cluster of its own), then stopped.
 */
export async function makeForeignDataDir(lab: Lab, host: string): Promise<void> {
  const ip = lab.hosts.find((h) => h.name === host)!.ip;
  const dir = join(LABS, lab.name, 'ssh');
  const cp = await sh('scp', ['-q', '-i', join(dir, 'id_ed25519'), '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`, '/usr/bin/etcd', `root@${ip}:/tmp/etcd-foreign`], 60_000);
  if (cp.code !== 0) throw new Error(`scp: ${cp.stderr}`);
  const r = await lab.ssh(host, `set -e; mkdir -p /var/lib/etcd; cd /tmp
/tmp/etcd-foreign --name foreign --data-dir /var/lib/etcd/flanprov --listen-client-urls http://127.0.0.1:23790 --advertise-client-urls http://127.0.0.1:23790 \\
  --listen-peer-urls http://127.0.0.1:23800 --initial-advertise-peer-urls http://127.0.0.1:23800 --initial-cluster foreign=http://127.0.0.1:23800 >/tmp/etcd-foreign.log 2>&1 &
p=$!; for i in $(seq 100); do [ -e /var/lib/etcd/flanprov/member/wal ] && grep -q 'ready to serve' /tmp/etcd-foreign.log && break; sleep 0.1; done
kill $p; wait $p || true; rm -f /tmp/etcd-foreign; ls /var/lib/etcd/flanprov/member/wal`);
  if (r.code !== 0 || !/\.wal/.test(r.stdout)) throw new Error(`no foreign data dir on ${host}: ${r.stdout}${r.stderr}`);
}
