/**
 * systemd readiness. Node has no AF_UNIX datagram sockets and the agent may not use native addons,
 * so READY=1 is sent by `systemd-notify`, which every systemd host ships. Because that is a child
 * process, the unit needs `NotifyAccess=all` (systemd otherwise only accepts the main PID); the
 * units flanprov renders set it. Without NOTIFY_SOCKET this is a no-op, like go-systemd's SdNotify.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

const CANDIDATES = ['/bin/systemd-notify', '/usr/bin/systemd-notify'];

export function notifySocket(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return env.NOTIFY_SOCKET || undefined;
}

/**
 * Sends READY=1 (and a STATUS= line). Resolves to 'sent', 'no-socket' (not under systemd) or an
 * error text (logged by the caller as flannel does: "Failed to notify systemd the message READY=1").
 */
export function sdNotifyReady(status: string, env: NodeJS.ProcessEnv = process.env): Promise<'sent' | 'no-socket' | string> {
  if (!notifySocket(env)) return Promise.resolve('no-socket');
  const bin = CANDIDATES.find((p) => existsSync(p));
  if (!bin) return Promise.resolve('systemd-notify not found');
  return new Promise((resolve) => {
    execFile(bin, ['--ready', `--status=${status}`], { env, timeout: 5000 }, (err, _out, stderr) => {
      resolve(err ? `${bin}: ${stderr.trim() || err.message}` : 'sent');
    });
  });
}
