/**
 * The plugin's state in its dataDir (flannel's layout, so DEL works after a restart, an upgrade, or for a
 * container added by Go flannel's plugin): `<dataDir>/<containerid>` holds the delegate's config exactly
 * as it was given to ADD, mode 0600. Beside it, `<dataDir>/.sandbox/<containerid>` records where the
 * container's interface is (netns path, interface name), which the delegate config does not say, so that
 * switch-backend can change the MTU inside running containers. A container ID starts with a letter or a
 * digit, so ".sandbox" can never be one. Files are written to a temporary name and renamed: a crash never
 * leaves half a config for DEL to choke on.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CniError, CniErrorCode } from './spec.js';

export const SANDBOX_DIR = '.sandbox';

export interface SandboxRecord {
  /** CNI_NETNS at ADD */
  netns: string;
  /** CNI_IFNAME at ADD */
  ifname: string;
  /** the network's name */
  network: string;
}

export interface StateStore {
  save(dataDir: string, containerId: string, delegateConfig: string, sandbox: SandboxRecord): void;
  /** the stored delegate config, undefined when there is none */
  load(dataDir: string, containerId: string): string | undefined;
  remove(dataDir: string, containerId: string): void;
}

function atomicWrite(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, path);
}

function io(what: string, e: unknown): CniError {
  return new CniError(CniErrorCode.IO_FAILURE, what, (e as Error).message);
}

export const fileStateStore: StateStore = {
  save(dataDir, id, conf, sandbox) {
    try {
      mkdirSync(join(dataDir, SANDBOX_DIR), { recursive: true, mode: 0o700 });
      atomicWrite(join(dataDir, id), conf);
      atomicWrite(join(dataDir, SANDBOX_DIR, id), `${JSON.stringify(sandbox)}\n`);
    } catch (e) {
      throw io(`cannot save the delegate config of ${id} in ${dataDir}`, e);
    }
  },
  load(dataDir, id) {
    try {
      return readFileSync(join(dataDir, id), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw io(`cannot read the delegate config of ${id} in ${dataDir}`, e);
    }
  },
  remove(dataDir, id) {
    try {
      rmSync(join(dataDir, id), { force: true });
      rmSync(join(dataDir, SANDBOX_DIR, id), { force: true });
    } catch (e) {
      throw io(`cannot remove the delegate config of ${id} in ${dataDir}`, e);
    }
  },
};
