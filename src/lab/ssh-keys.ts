/**
 * SSH material of a lab: the client key (ssh/id_ed25519) that every host's root accepts, a host key per
 * host generated at `lab up` (never shared through the rootfs, so each host is distinguishable), and
 * ssh/known_hosts with one plain `IP ssh-ed25519 KEY` line per host.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOk } from './exec.js';
import { knownHostsLine } from '../remote/known-hosts.js';
import { clientKey, knownHostsFile, sshDir } from './paths.js';

export async function ensureClientKey(lab: string): Promise<string> {
  mkdirSync(sshDir(lab), { recursive: true, mode: 0o700 });
  const key = clientKey(lab);
  if (!existsSync(key)) await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `flanprov-lab-${lab}`, '-f', key]);
  return readFileSync(`${key}.pub`, 'utf8').trim();
}

/**
 * Give a host (its root filesystem, mounted at `root`) its own ed25519 host key and the client's key in
 * root's authorized_keys. Returns the public host key ("ssh-ed25519 AAAA...").
 */
export async function installHostKeys(root: string, hostName: string, clientPub: string): Promise<string> {
  const hk = join(root, 'etc/ssh/ssh_host_ed25519_key');
  await runOk('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', `root@${hostName}`, '-f', hk]);
  const sshd = join(root, 'root/.ssh');
  mkdirSync(sshd, { recursive: true, mode: 0o700 });
  chmodSync(sshd, 0o700);
  writeFileSync(join(sshd, 'authorized_keys'), clientPub + '\n', { mode: 0o600 });
  const pub = readFileSync(`${hk}.pub`, 'utf8').trim().split(/\s+/);
  return `${pub[0]} ${pub[1]}`;
}

/** The lab's known_hosts, in the same line format flanprov's own accept-new writes (remote/known-hosts.ts). */
export function writeKnownHosts(lab: string, entries: Array<{ ip: string; hostKey: string }>): void {
  const lines = entries.map((e) => knownHostsLine(e.ip, 22, Buffer.from(e.hostKey.split(' ')[1]!, 'base64')));
  writeFileSync(knownHostsFile(lab), lines.join('\n') + '\n', { mode: 0o644 });
}

/** ssh arguments that use the lab's key and known_hosts strictly (what the tests and readiness checks use). */
export function sshArgs(lab: string, ip: string, connectTimeoutS = 5): string[] {
  return [
    '-i', clientKey(lab),
    '-o', `UserKnownHostsFile=${knownHostsFile(lab)}`,
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'BatchMode=yes',
    '-o', 'IdentitiesOnly=yes',
    '-o', 'LogLevel=ERROR',
    '-o', `ConnectTimeout=${connectTimeoutS}`,
    `root@${ip}`,
  ];
}
