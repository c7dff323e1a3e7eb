/**
 * Lab hosts: real systemd (PID 1) in systemd-nspawn, booted into the host's network namespace, on an
 * overlayfs view of the cached rootfs (private upper dir per host) with the runtime's storage
 * (/var/lib/docker, or /var/lib/containers on Podman hosts) bound from a plain directory of the machine
 * (overlay2 cannot sit on overlayfs). The nspawn flags are the testbed's fixes for Docker
 * inside nspawn: all capabilities, writable /proc/sys/net, keyctl/bpf syscalls (see REPORT.md §5).
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync, rmSync, existsSync, symlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { connect } from 'node:net';
import { run, runOk, spawnDetached, pollUntil, sleep } from './exec.js';
import { hostDir, logDir } from './paths.js';
import { pidAlive, type HostState } from './state.js';
import type { HostPlan } from './plan.js';
import type { NicRebuild } from './net.js';
import { supervisorScript, writeNicRebuildFiles } from './supervisor.js';
import { PROBE_TAR_IN_HOST } from './probe-image.js';
import type { Runtime } from './runtime.js';
import { PODMAN_RESTART_WANT } from './rootfs.js';
import { StepFailedError } from '../util/errors.js';

export interface HostDirs {
  upper: string;
  work: string;
  merged: string;
  /** the container runtime's storage (/var/lib/docker or /var/lib/containers), on the machine's own filesystem */
  storage: string;
}

/** Where each runtime keeps images and containers (overlay2 / podman's overlay cannot sit on overlayfs). */
const STORAGE_DIR: Record<Runtime, string> = { docker: '/var/lib/docker', podman: '/var/lib/containers' };

export function hostDirs(lab: string, host: string, runtime: Runtime = 'docker'): HostDirs {
  const d = hostDir(lab, host);
  return { upper: join(d, 'upper'), work: join(d, 'work'), merged: join(d, 'root'), storage: join(d, `var-lib-${basename(STORAGE_DIR[runtime])}`) };
}

/**
 * Docker's units and commands on a Podman host: the units masked, the binaries removed from the host's
 * root (overlay whiteouts; the cached rootfs keeps them), so the host looks like one without Docker.
 */
const DOCKER_UNITS = ['docker.service', 'docker.socket', 'containerd.service'];
const DOCKER_BINARIES = ['usr/bin/docker', 'usr/sbin/dockerd', 'usr/bin/docker-proxy', 'usr/bin/containerd', 'usr/bin/containerd-shim',
  'usr/bin/containerd-shim-runc-v1', 'usr/bin/containerd-shim-runc-v2', 'usr/bin/ctr'];

function removeDocker(root: string): void {
  for (const u of DOCKER_UNITS) {
    const p = join(root, 'etc/systemd/system', u);
    rmSync(p, { force: true });
    symlinkSync('/dev/null', p);
  }
  rmSync(join(root, 'etc/systemd/system/multi-user.target.wants/docker.service'), { force: true });
  rmSync(join(root, 'etc/systemd/system/sockets.target.wants/docker.socket'), { force: true });
  for (const b of DOCKER_BINARIES) rmSync(join(root, b), { force: true });
}

/** Mount points at or below `prefix` (from /proc/self/mountinfo), deepest first, for unmounting. */
export function mountPointsUnder(prefix: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4]?.replace(/\\040/g, ' ');
    if (mp && (mp === prefix || mp.startsWith(prefix + '/'))) out.push(mp);
  }
  return [...new Set(out)].sort((a, b) => b.length - a.length);
}

/** Fresh upper dir, overlay mount, hostname, /etc/hosts. Host keys are added by the caller (ssh-keys.ts). */
export async function prepareHostRoot(lab: string, host: HostPlan, lowerdir: string): Promise<HostDirs> {
  const d = hostDirs(lab, host.name, host.runtime);
  for (const p of [d.upper, d.work, d.storage]) rmSync(p, { recursive: true, force: true });
  for (const p of [d.upper, d.work, d.merged, d.storage]) mkdirSync(p, { recursive: true });
  await runOk('mount', ['-t', 'overlay', host.ns, '-o', `lowerdir=${lowerdir},upperdir=${d.upper},workdir=${d.work}`, d.merged], {}, host.name);
  writeFileSync(join(d.merged, 'etc/hostname'), `${host.name}\n`);
  writeFileSync(join(d.merged, 'etc/hosts'), `127.0.0.1\tlocalhost\n127.0.1.1\t${host.name}\n${host.ip}\t${host.name}\n::1\tlocalhost ip6-localhost ip6-loopback\n`);
  if (host.runtime === 'podman') {
    removeDocker(d.merged);
    mkdirSync(dirname(join(d.merged, PODMAN_RESTART_WANT)), { recursive: true });
    symlinkSync('/lib/systemd/system/podman-restart.service', join(d.merged, PODMAN_RESTART_WANT));
  }
  return d;
}

/**
 * Boot the host under its supervisor (supervisor.ts), which boots it again after a reboot. Returns the
 * supervisor's PID (recorded by the caller before anything else happens).
 */
export function bootHost(lab: string, host: HostPlan, d: HostDirs, nic: NicRebuild, probeTar: string): number {
  mkdirSync(logDir(lab), { recursive: true });
  const args = [
    '-q', '-D', d.merged, '--boot',
    '--register=no', '--keep-unit', '-M', host.ns,
    `--network-namespace-path=/run/netns/${host.ns}`,
    '--capability=all', '--system-call-filter=add_key keyctl bpf',
    `--bind=${d.storage}:${STORAGE_DIR[host.runtime ?? 'docker']}`,
    // the probe image, imported into the runtime by the readiness check (probe-image.ts) without a copy
    `--bind-ro=${probeTar}:${PROBE_TAR_IN_HOST}`,
    '--link-journal=no', '--resolv-conf=off', '--timezone=off',
    '--console=read-only',
  ];
  const dir = hostDir(lab, host.name);
  writeNicRebuildFiles(dir, nic);
  // --network-namespace-path does not count as a private network for nspawn: ask for writable net sysctls
  const env = { ...process.env, SYSTEMD_NSPAWN_API_VFS_WRITABLE: 'network' };
  // With --keep-unit, nspawn splits *its own* cgroup into payload/ and supervisor/. Started side by side from
  // one cgroup, every guest would share one payload/ (and its systemd's system.slice/...): give each nspawn
  // its own cgroup first (name=systemd and cgroup2, the hierarchies nspawn and the guest systemd use).
  const cgroups = hostCgroupPaths(host.ns);
  for (const c of cgroups) mkdirSync(c, { recursive: true });
  const script = `for c in "$@"; do case $c in --) shift; break;; esac; echo $$ > "$c/cgroup.procs"; shift; done\n${supervisorScript(nic)}`;
  return spawnDetached('sh', ['-c', script, 'sh', ...cgroups, '--', dir, '--', ...args], join(logDir(lab), `${host.name}.console.log`), env);
}

/** The systemd-nspawn the supervisor runs now (undefined between two boots or when the host is down). */
export function currentNspawn(supervisorPid: number, table = processTable()): number | undefined {
  if (!pidAlive(supervisorPid)) return undefined;
  for (const [pid, pp] of table) {
    if (pp !== supervisorPid) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'systemd-nspawn') return pid;
    } catch {
      /* gone */
    }
  }
  return undefined;
}

/** The cgroup of a host's nspawn in the hierarchies nspawn manages, below the cgroup of this process. */
export function hostCgroupPaths(machine: string): string[] {
  const out: string[] = [];
  const own = readFileSync('/proc/self/cgroup', 'utf8');
  const v1 = /^\d+:name=systemd:(\S*)$/m.exec(own)?.[1];
  const v2 = /^0::(\S*)$/m.exec(own)?.[1];
  if (v1 !== undefined && existsSync('/sys/fs/cgroup/systemd/cgroup.procs')) out.push(join('/sys/fs/cgroup/systemd', v1, machine));
  if (v2 !== undefined) {
    const base = existsSync('/sys/fs/cgroup/unified/cgroup.procs') ? '/sys/fs/cgroup/unified' : existsSync('/sys/fs/cgroup/cgroup.procs') ? '/sys/fs/cgroup' : '';
    if (base) out.push(join(base, v2, machine));
  }
  return out;
}

/** All /proc entries as pid -> parent pid. */
export function processTable(): Map<number, number> {
  const ppid = new Map<number, number>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const st = readFileSync(`/proc/${e}/stat`, 'utf8');
      const rest = st.slice(st.lastIndexOf(')') + 2).split(' ');
      ppid.set(Number(e), Number(rest[1]));
    } catch {
      /* gone */
    }
  }
  return ppid;
}

/**
 * The guest's init: the descendant of `rootPid` (the supervisor, or nspawn) that is PID 1 of its own PID
 * namespace. `table` (processTable()) can be shared by callers that look at many hosts.
 */
export function findGuestInit(rootPid: number, table = processTable()): number | undefined {
  const children = new Map<number, number[]>();
  for (const [pid, pp] of table) children.set(pp, [...(children.get(pp) ?? []), pid]);
  const queue = [...(children.get(rootPid) ?? [])];
  while (queue.length) {
    const pid = queue.shift()!;
    try {
      const nspid = /^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]?.trim().split(/\s+/) ?? [];
      if (nspid.length > 1 && nspid[nspid.length - 1] === '1') return pid;
    } catch {
      continue;
    }
    queue.push(...(children.get(pid) ?? []));
  }
  return undefined;
}

/** Wait for the guest's init below `rootPid`; `not` is an init to ignore (the one from before a reboot). */
export async function waitGuestInit(rootPid: number, host: string, timeoutMs = 20_000, not?: number): Promise<number> {
  let init: number | undefined;
  const ok = await pollUntil(() => {
    if (!pidAlive(rootPid)) throw new StepFailedError('systemd-nspawn exited during boot', host, 'see its console log in the lab dir (log/)');
    init = findGuestInit(rootPid);
    return init !== undefined && init !== not;
  }, timeoutMs, 20);
  if (!ok || !init) throw new StepFailedError('the guest init did not start', host);
  return init;
}

export function tcpOpen(ip: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: ip, port });
    const done = (v: boolean): void => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

export async function waitSshPort(ip: string, host: string, rootPid: number, timeoutMs = 60_000): Promise<void> {
  const ok = await pollUntil(async () => {
    if (!pidAlive(rootPid)) throw new StepFailedError('the host stopped during boot', host, 'see its console log in the lab dir (log/)');
    return tcpOpen(ip, 22);
  }, timeoutMs, 50);
  if (!ok) throw new StepFailedError(`sshd did not answer on ${ip}:22 within ${timeoutMs / 1000} s`, host);
}

/** Cgroup directories (all hierarchies) that carry a host's machine name. */
export function hostCgroupDirs(machine: string): string[] {
  const out: string[] = [];
  if (!existsSync('/sys/fs/cgroup')) return out;
  const walk = (dir: string, depth: number): void => {
    let entries: string[];
    try {
      entries = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e);
      if (e === machine || e === `${machine}.scope` || e === `machine-${machine.replace(/-/g, '\\x2d')}.scope`) out.push(p);
      else if (depth < 2 && !/^[0-9a-f]{64}$/.test(e)) walk(p, depth + 1);
    }
  };
  walk('/sys/fs/cgroup', 0);
  return out;
}

/** The process `lab up` recorded for a host: its supervisor (or, in a lab made before reboots, nspawn). */
export function hostRootPid(h: HostState): number | undefined {
  return h.supervisorPid ?? h.nspawnPid;
}

/** The guest's live PID 1 (after a reboot it is not the recorded one). */
export function liveInit(h: HostState, table?: Map<number, number>): number | undefined {
  const root = hostRootPid(h);
  return root && pidAlive(root) ? findGuestInit(root, table) : undefined;
}

/**
 * Stop hosts: SIGTERM to the supervisor (passed on to nspawn, which asks the guest systemd to power off),
 * wait; a guest that hangs gets the immediate-halt signal (SIGRTMIN+4) at its init, then SIGKILL as the
 * last resort.
 */
export async function stopHosts(hosts: HostState[], say: (m: string) => void, graceMs = 5000): Promise<void> {
  const live = hosts.filter((h) => pidAlive(hostRootPid(h)));
  // every process to see gone: supervisor, nspawn and init as they are now, and as recorded
  const pids = new Map(live.map((h) => [h, [...new Set([hostRootPid(h), currentNspawn(hostRootPid(h)!), liveInit(h), h.nspawnPid, h.initPid])].filter((p): p is number => !!p)]));
  const alive = (h: HostState): boolean => pids.get(h)!.some(pidAlive);
  for (const h of live) {
    try {
      process.kill(hostRootPid(h)!, 'SIGTERM');
    } catch {
      /* already gone */
    }
  }
  const allGone = (): boolean => !live.some(alive);
  if (await pollUntil(allGone, graceMs, 50)) return;
  const hung = live.filter(alive);
  say(`halting ${hung.map((h) => h.name).join(', ')} immediately (did not power off within ${graceMs / 1000} s)`);
  for (const h of hung) {
    const init = liveInit(h) ?? h.initPid;
    if (pidAlive(init)) await run('kill', ['-s', 'RTMIN+4', String(init)]);
  }
  if (await pollUntil(allGone, 3000, 50)) return;
  for (const h of hung) {
    for (const pid of [liveInit(h), ...pids.get(h)!]) {
      try {
        if (pid && pidAlive(pid)) process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  if (!(await pollUntil(allGone, 3000, 50))) {
    throw new StepFailedError(`hosts did not stop: ${hung.filter(alive).map((h) => h.name).join(', ')}`, 'lab down');
  }
}

/** Unmount everything under a directory, deepest first (lazy as a fallback: a dying guest may still hold it). */
export async function unmountUnder(dir: string): Promise<void> {
  for (const mp of mountPointsUnder(dir)) {
    const r = await run('umount', [mp]);
    if (r.code !== 0) {
      await sleep(200);
      if ((await run('umount', [mp])).code !== 0) await runOk('umount', ['-l', mp]);
    }
  }
}
