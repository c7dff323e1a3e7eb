/**
 * The lab's record of everything it created (state.json in /var/lib/flanprov/labs/<name>/): written before
 * each thing is started, so `lab down` can remove a half-built lab too, and so a netns or interface with a
 * lab's name but no state file is recognised as somebody else's.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync, openSync, closeSync, unlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { LABS_ROOT, stateFile, labDir } from './paths.js';
import type { LabPlan, Topology } from './plan.js';
import { sleep } from './exec.js';
import { StepFailedError } from '../util/errors.js';

export const STATE_VERSION = 1;

export interface HostState {
  name: string;
  ns: string;
  ip: string;
  /** the host's supervisor (supervisor.ts: session leader, runs nspawn again after a reboot); absent in labs made before reboots */
  supervisorPid?: number;
  /** systemd-nspawn as last seen (it changes at every reboot; hosts.ts currentNspawn finds the live one) */
  nspawnPid?: number;
  /** the guest's systemd (PID 1 inside) as last seen, for the immediate-halt signal (changes at every reboot) */
  initPid?: number;
  /** overlay mount point (the host's /) */
  merged: string;
}

export interface LabState {
  version: number;
  name: string;
  index: number;
  topology: Topology;
  etcdTls: boolean;
  status: 'starting' | 'up';
  createdAt: string;
  upSeconds?: number;
  rootfs: string;
  plan: LabPlan;
  /** the lab's etcd member (absent with --no-etcd) */
  etcd?: { pid?: number; endpoint: string; dataDir: string; v2?: boolean };
  /** with --wan (the setting is in plan.wan): the forwarder */
  wan?: { pid?: number };
  hosts: HostState[];
  /** cgroup dirs the lab's guests got (removed when empty at `lab down`) */
  cgroupNames: string[];
}

export function readState(name: string): LabState | undefined {
  const f = stateFile(name);
  if (!existsSync(f)) return undefined;
  return JSON.parse(readFileSync(f, 'utf8')) as LabState;
}

/** Atomic write (rename), so a crash never leaves a half-written record. */
export function writeState(s: LabState): void {
  mkdirSync(labDir(s.name), { recursive: true, mode: 0o700 });
  const f = stateFile(s.name);
  writeFileSync(`${f}.tmp`, JSON.stringify(s, null, 2) + '\n');
  renameSync(`${f}.tmp`, f);
}

export function listLabNames(): string[] {
  if (!existsSync(LABS_ROOT)) return [];
  return readdirSync(LABS_ROOT).filter((n) => existsSync(stateFile(n)));
}

/** Indices in use by recorded labs (k of 198.18.k.0/24). */
export function usedIndices(): Set<number> {
  const used = new Set<number>();
  for (const n of listLabNames()) {
    const s = readState(n);
    if (s) used.add(s.index);
  }
  return used;
}

/**
 * A machine-wide lock around index allocation and the first state write, so two `lab up` started at once
 * never get the same underlay. O_EXCL lock file holding our PID; a lock whose holder died is taken over.
 */
export async function withLabsLock<T>(fn: () => Promise<T>): Promise<T> {
  mkdirSync(LABS_ROOT, { recursive: true, mode: 0o755 });
  const lock = join(LABS_ROOT, '.lock');
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const fd = openSync(lock, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch {
      let holder = 0;
      try {
        holder = Number(readFileSync(lock, 'utf8'));
      } catch {
        continue;
      }
      const stale = !holder || !pidAlive(holder) || Date.now() - statSync(lock).mtimeMs > 120_000;
      if (stale) {
        try {
          unlinkSync(lock);
        } catch {
          /* somebody else took it over */
        }
        continue;
      }
      if (Date.now() > deadline) throw new StepFailedError(`another flanprov lab command (PID ${holder}) holds ${lock}`, 'lab');
      await sleep(100);
    }
  }
  try {
    return await fn();
  } finally {
    try {
      unlinkSync(lock);
    } catch {
      /* already gone */
    }
  }
}

export function pidAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists but is not ours to signal (`lab status` run without root)
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // a zombie is not alive for our purposes
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(st);
  } catch {
    return false;
  }
}
