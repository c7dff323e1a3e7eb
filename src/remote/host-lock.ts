/**
 * The per-host lock every run takes (k0sctl's "acquire host lock"): `flock` on /run/flanprov/lock, held by
 * a script that lives as long as its SSH channel. Commands that change hosts (up, down, switch-backend)
 * take it exclusive, read-only ones (check, status) shared, so two runs never interleave on a host, and a
 * second run is refused at once, naming the holder. The lock cannot outlive the run: the script exits
 * (and the kernel drops the lock) when its channel closes, and also when the controller's heartbeat stops
 * for HEARTBEAT_GRACE_S (a controller that vanished behind a network cut the host never noticed).
 */
import { hostname, userInfo } from 'node:os';
import { remoteScript } from './remote-script.js';
import type { RemoteHost, RemoteSession } from './types.js';
import { FlanprovError, ExitCode } from '../util/errors.js';

declare module './remote-script.js' {
  interface RemoteScripts { 'host-lock': { DIR: string; FLAG: '-x' | '-s'; HOLDER: string; GRACE: number } }
}

export type LockMode = 'exclusive' | 'shared';

/** The controller writes a heartbeat line this often... */
export const HEARTBEAT_S = 5;
/** ...and the host gives the lock up after this long without one. */
export const HEARTBEAT_GRACE_S = 20;

const LOCK_DIR = '/run/flanprov';

/** Who holds a lock, in words the refused user can act on. */
export function holderLine(command: string, mode: LockMode, now = new Date()): string {
  let user = 'unknown';
  try { user = userInfo().username; } catch { /* no passwd entry (containers) */ }
  return `${user}@${hostname()} (pid ${process.pid}) running \`flanprov ${command}\` since ${now.toISOString()} [${mode}]`;
}

/**
 * The lock script (src/remote/scripts/host-lock.sh, run as root). First line: `locked`, or `busy` followed
 * by `holder <line>` for each live holder, or `error <why>`. While locked it reads heartbeats; EOF or
 * silence ends it.
 */
export function lockScript(mode: LockMode, holder: string, o: { dir?: string; graceS?: number } = {}): string {
  return remoteScript('host-lock', { DIR: o.dir ?? LOCK_DIR, FLAG: mode === 'exclusive' ? '-x' : '-s', HOLDER: holder, GRACE: o.graceS ?? HEARTBEAT_GRACE_S });
}

export type LockAnswer = { kind: 'locked' } | { kind: 'busy'; holders: string[] } | { kind: 'error'; why: string };

/** Reads the script's answer from its first lines. */
export async function readLockAnswer(next: () => Promise<string | undefined>): Promise<LockAnswer> {
  const first = await next();
  if (first === 'locked') return { kind: 'locked' };
  if (first === 'busy') {
    const holders: string[] = [];
    for (let l = await next(); l !== undefined; l = await next()) if (l.startsWith('holder ')) holders.push(l.slice(7));
    return { kind: 'busy', holders };
  }
  if (first?.startsWith('error ')) return { kind: 'error', why: first.slice(6) };
  return { kind: 'error', why: first === undefined ? 'the lock script ended without an answer (sudo refused?)' : `unexpected answer "${first}"` };
}

/** Another run holds the lock on a host (exit code 6). */
export class HostLockedError extends FlanprovError {
  constructor(host: string, holders: readonly string[]) {
    super(`another flanprov run holds the lock on this host: ${holders.length ? holders.join('; ') : 'a run that is just ending'}`, ExitCode.LOCKED, host,
      'wait for it to finish (or stop it); the lock goes with its SSH connection');
  }
}

/** A held lock; release() ends it (the connection closing does too). */
export interface HostLock {
  release(): Promise<void>;
}

export async function acquireHostLock(remote: RemoteHost, mode: LockMode, holder: string): Promise<HostLock> {
  const s: RemoteSession = await remote.openSession(lockScript(mode, holder), { sudo: true });
  const answer = await readLockAnswer(() => s.nextLine());
  if (answer.kind === 'busy') throw new HostLockedError(remote.name, answer.holders);
  if (answer.kind === 'error') {
    s.end();
    throw new FlanprovError(`cannot take the host lock: ${answer.why}`, ExitCode.STEP_FAILED, remote.name);
  }
  const beat = setInterval(() => s.write('.\n'), HEARTBEAT_S * 1000);
  beat.unref();
  return {
    async release() {
      clearInterval(beat);
      s.end();
      await Promise.race([s.exited, new Promise((r) => setTimeout(r, 2000).unref())]);
    },
  };
}
