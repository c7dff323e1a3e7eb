/**
 * What a lab leaves on the machine outside its own directory once its processes are gone: empty cgroup
 * directories (the guests' and, when no other container uses it, Docker's `docker` parent) and nspawn's
 * /run/systemd/nspawn (only when no other nspawn guest is left).
 */
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { hostCgroupDirs } from './hosts.js';
import { pidAlive } from './state.js';

/** rmdir a cgroup tree bottom-up; a cgroup that still holds processes (EBUSY) is left alone. */
function rmdirTree(dir: string): void {
  let entries: string[] = [];
  try {
    entries = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return;
  }
  for (const e of entries) rmdirTree(join(dir, e));
  try {
    rmdirSync(dir);
  } catch {
    /* busy (in use) or gone */
  }
}

export function removeHostCgroups(machines: string[]): void {
  for (const m of machines) for (const d of hostCgroupDirs(m)) rmdirTree(d);
  // Docker inside the guests (cgroupfs driver) creates /docker/<container> in the machine-wide v1
  // hierarchies; remove the ones that are empty now (a running container elsewhere keeps its own: EBUSY)
  if (!existsSync('/sys/fs/cgroup')) return;
  for (const h of readdirSync('/sys/fs/cgroup')) {
    const d = join('/sys/fs/cgroup', h, 'docker');
    if (existsSync(d)) rmdirTree(d);
  }
}

/** Any systemd-nspawn process on the machine (ours or anybody's)? */
export function nspawnRunning(): boolean {
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      // a zombie (exited, not yet reaped by its parent) does not count
      if (readFileSync(`/proc/${e}/comm`, 'utf8').trim() === 'systemd-nspawn' && pidAlive(Number(e))) return true;
    } catch {
      /* gone */
    }
  }
  return false;
}

export function removeNspawnRunDirIfUnused(): void {
  if (existsSync('/run/systemd/nspawn') && !nspawnRunning()) rmSync('/run/systemd/nspawn', { recursive: true, force: true });
}
