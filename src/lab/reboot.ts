/**
 * `flanprov lab reboot NAME HOST [--hard]`: reboot one lab host from outside, as a machine is rebooted.
 * Clean: SIGRTMIN+5 to the guest's systemd (systemd(1): "enqueues the reboot.target unit", i.e. what
 * `systemctl reboot` does inside); its nspawn exits with 133 and the host's supervisor boots it again.
 * Hard (a power cut, as far as processes go): the supervisor's reboot flag, then SIGKILL to the guest's
 * PID 1, which ends every process of the host at once (no unit stops, nothing flushed by the guest; the
 * machine's page cache still keeps what was written, unlike a real power cut).
 * Then, unless told not to wait: the old init gone, the new one up, sshd answering, systemd "running" and
 * the container runtime usable (the same readiness check as `lab up`).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readState, writeState, pidAlive } from './state.js';
import { currentNspawn, liveInit, waitGuestInit, waitSshPort } from './hosts.js';
import { REBOOT_FLAG } from './supervisor.js';
import { readyAndImportProbe } from './probe-image.js';
import { hostDir } from './paths.js';
import { validateName } from './plan.js';
import { pollUntil, run } from './exec.js';
import { progress } from './progress.js';
import { InvalidInputError, StepFailedError } from '../util/errors.js';

export interface RebootOptions {
  hard: boolean;
  /** wait until the host is back and ready (default) */
  wait: boolean;
  timeoutMs?: number;
}

export interface RebootResult {
  host: string;
  hard: boolean;
  /** milliseconds from the signal: old init gone, new init started, sshd answering, ready (undefined without wait) */
  downMs?: number;
  initMs?: number;
  sshMs?: number;
  readyMs?: number;
  initPid?: number;
}

export async function labReboot(lab: string, hostName: string, o: RebootOptions): Promise<RebootResult> {
  validateName(lab);
  const state = readState(lab);
  if (!state) throw new InvalidInputError(`no lab "${lab}"`, 'lab reboot', 'flanprov lab status lists the labs');
  const h = state.hosts.find((x) => x.name === hostName);
  if (!h) throw new InvalidInputError(`lab "${lab}" has no host "${hostName}" (its hosts: ${state.hosts.map((x) => x.name).join(', ')})`, 'lab reboot');
  const sup = h.supervisorPid;
  if (!sup) throw new StepFailedError(`lab "${lab}" was made by a flanprov without reboot support`, hostName, `recreate it: flanprov lab down --name ${lab} && flanprov lab up --name ${lab}`);
  const old = liveInit(h);
  if (!pidAlive(sup) || old === undefined) throw new StepFailedError(`${hostName} is not running (powered off or never booted)`, hostName, `recreate the lab: flanprov lab down --name ${lab} && flanprov lab up --name ${lab}`);

  const t0 = Date.now();
  const since = (): number => Date.now() - t0;
  if (o.hard) {
    writeFileSync(join(hostDir(lab, hostName), REBOOT_FLAG), `${new Date().toISOString()}\n`);
    process.kill(old, 'SIGKILL');
  } else {
    const r = await run('kill', ['-s', 'RTMIN+5', String(old)]);
    if (r.code !== 0) throw new StepFailedError(`cannot signal the guest's systemd (PID ${old}): ${r.stderr.trim()}`, hostName);
  }
  progress(`${hostName}: ${o.hard ? 'hard reset (SIGKILL to its PID 1)' : 'reboot (SIGRTMIN+5 to its systemd)'}`);
  const res: RebootResult = { host: hostName, hard: o.hard };
  if (!o.wait) return res;

  const timeoutMs = o.timeoutMs ?? 90_000;
  if (!(await pollUntil(() => !pidAlive(old), timeoutMs, 20))) throw new StepFailedError(`did not shut down within ${timeoutMs / 1000} s`, hostName);
  res.downMs = since();
  const init = await waitGuestInit(sup, hostName, timeoutMs, old);
  res.initMs = since();
  h.initPid = init;
  h.nspawnPid = currentNspawn(sup);
  writeState(state);
  await waitSshPort(h.ip, hostName, sup, timeoutMs);
  res.sshMs = since();
  await readyAndImportProbe(lab, hostName, h.ip, state.plan.hosts.find((p) => p.name === hostName)?.runtime ?? 'docker', timeoutMs);
  res.readyMs = since();
  res.initPid = init;
  progress(`${hostName} back: down after ${sec(res.downMs)}, booting after ${sec(res.initMs)}, sshd after ${sec(res.sshMs)}, ready after ${sec(res.readyMs)}`);
  return res;
}

const sec = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
