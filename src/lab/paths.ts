/**
 * Where the lab keeps things on the machine. Other parts of flanprov and the e2e tests rely on these paths:
 *   /var/lib/flanprov/labs/<name>/inventory.yml        the Ansible inventory (hosts h1..hN in group `nodes`)
 *   /var/lib/flanprov/labs/<name>/ssh/id_ed25519       client key accepted by root on every host
 *   /var/lib/flanprov/labs/<name>/ssh/known_hosts      one `IP ssh-ed25519 KEY` line per host
 *   /var/lib/flanprov/labs/<name>/tls/                 with --etcd-tls: ca.pem, etcd-client.pem, etcd-client-key.pem
 *   /var/lib/flanprov/labs/<name>/state.json           the lab's record (`lab status --output json` is the stable view)
 *   /var/cache/flanprov/rootfs-bookworm-<hash>/        rootfs/ and probe.tar, shared by all labs
 */
import { join } from 'node:path';

/** Per-lab state: state.json, inventory.yml, ssh/, tls/, host upper dirs, logs. Removed by `lab down`. */
export const LABS_ROOT = process.env.FLANPROV_LABS_ROOT ?? '/var/lib/flanprov/labs';
/** Root filesystem cache, shared by all labs and kept across `lab down`. */
export const CACHE_ROOT = process.env.FLANPROV_CACHE_ROOT ?? '/var/cache/flanprov';

export const labDir = (name: string): string => join(LABS_ROOT, name);
export const stateFile = (name: string): string => join(labDir(name), 'state.json');
export const inventoryFile = (name: string): string => join(labDir(name), 'inventory.yml');
export const sshDir = (name: string): string => join(labDir(name), 'ssh');
export const clientKey = (name: string): string => join(sshDir(name), 'id_ed25519');
export const knownHostsFile = (name: string): string => join(sshDir(name), 'known_hosts');
export const tlsDir = (name: string): string => join(labDir(name), 'tls');
export const hostDir = (name: string, host: string): string => join(labDir(name), 'hosts', host);
export const logDir = (name: string): string => join(labDir(name), 'log');
