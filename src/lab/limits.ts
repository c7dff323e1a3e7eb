/**
 * Machine-wide kernel limits a big lab runs into. Every lab host's systemd (several: one per .path unit and
 * for its own watches), logind, dbus-daemon and containerd each hold an inotify instance, all as the same
 * root user as the rest of the machine, and fs.inotify.max_user_instances defaults to 128: at about 16
 * hosts (fewer when other labs run) the next host's systemd fails its .path units with "Too many open
 * files" and boots "degraded". `lab up` raises the limit when the hosts it is about to boot would not fit
 * (what kind and LXD document for the same reason); it never lowers it, and `lab down` leaves it, since
 * other labs on the machine may need it.
 */
import { readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { progress } from './progress.js';

const MAX_INSTANCES = '/proc/sys/fs/inotify/max_user_instances';
/** measured on an idle Docker host: 8 (systemd 5, logind, dbus, containerd); room for Docker, Podman, flanneld */
export const INOTIFY_PER_HOST = 12;

/** inotify instances open on the machine now (every process's fds, all users: a slight over-count, on the safe side). */
export function inotifyInstancesInUse(): number {
  let n = 0;
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${p}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${p}/fd/${fd}`) === 'anon_inode:inotify') n++;
      } catch {
        /* closed meanwhile */
      }
    }
  }
  return n;
}

/** The limit needed for `hosts` more hosts: what is in use plus their share, rounded up to a multiple of 128. */
export function inotifyLimitFor(inUse: number, hosts: number): number {
  return Math.ceil((inUse + hosts * INOTIFY_PER_HOST) / 128) * 128;
}

export function ensureInotifyInstances(hosts: number): void {
  const limit = Number(readFileSync(MAX_INSTANCES, 'utf8').trim());
  const need = inotifyLimitFor(inotifyInstancesInUse(), hosts);
  if (need <= limit) return;
  writeFileSync(MAX_INSTANCES, `${need}\n`);
  progress(`raised fs.inotify.max_user_instances from ${limit} to ${need} (machine-wide: every lab host's systemd, logind, dbus and containerd hold inotify instances of root)`);
}
