/** Where the lab keeps things on the machine (documented contract; see docs in src/cli/lab.ts). */
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
