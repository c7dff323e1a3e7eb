/**
 * A lab host's supervisor: the process `lab up` starts and records for each host (a small POSIX sh loop,
 * ~1 MB, so 30 hosts cost nothing). It runs systemd-nspawn and, like a machine's firmware, starts it again
 * when the guest rebooted:
 *   - systemd-nspawn exits with 133 when the guest's systemd reboots (`systemctl reboot`, `reboot`, or
 *     SIGRTMIN+5 to its PID 1, which is what `flanprov lab reboot` sends); see systemd-nspawn@.service's
 *     `RestartForceExitStatus=133`;
 *   - `lab reboot --hard` first creates the file `reboot` in the host dir, then SIGKILLs the guest's PID 1
 *     (which kills every process of its PID namespace at once, as a power cut would); nspawn then exits with
 *     an error code and the file says "start it again anyway".
 * Between two boots the host's network namespace is made anew (net.ts hostNicRebuild): a rebooted machine
 * keeps its NIC (same MAC, address and default route) but loses every route, device, iptables rule and
 * sysctl it had. Everything on disk stays: the overlay upper dir (host key, /etc, /usr/local/bin, ...) and
 * /var/lib/docker; nspawn mounts a fresh tmpfs on /run at every start, so /run is empty as at a real boot.
 * Any other exit (poweroff inside the guest: 0) ends the supervisor: the host is down, as a powered-off
 * machine. SIGTERM (what `lab down` sends) is passed to nspawn, which powers the guest off, and then the
 * supervisor exits without a restart.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { shq } from '../remote/command.js';
import type { NicRebuild } from './net.js';

/** Exit code of systemd-nspawn when the container rebooted. */
export const NSPAWN_REBOOT_EXIT = 133;

/** In the host dir: asks the supervisor to boot again whatever the exit code (lab reboot --hard). */
export const REBOOT_FLAG = 'reboot';
/** In the host dir: the PID of the current systemd-nspawn (absent between two boots). */
export const NSPAWN_PID_FILE = 'nspawn.pid';

/** `sh -c SCRIPT sh HOSTDIR -- NSPAWN_ARGS...` */
export function supervisorScript(nic: NicRebuild): string {
  return `d=$1; shift; shift
stop=; child=; boot=0
trap 'stop=1; [ -n "$child" ] && kill -TERM "$child" 2>/dev/null' TERM INT HUP
say() { echo "[flanprov lab supervisor $(date +%T.%3N)] $*"; }
while :; do
  [ -n "$stop" ] && exit 0  # told to stop between two boots
  boot=$((boot + 1))
  [ $boot -gt 1 ] && say "boot $boot"
  systemd-nspawn "$@" &
  child=$!
  echo "$child" > "$d/${NSPAWN_PID_FILE}"
  # wait returns early (status > 128) when a trapped signal arrives: wait again while nspawn lives
  while :; do wait "$child"; rc=$?; kill -0 "$child" 2>/dev/null || break; done
  child=
  rm -f "$d/${NSPAWN_PID_FILE}"
  [ -n "$stop" ] && exit "$rc"
  if [ "$rc" -eq ${NSPAWN_REBOOT_EXIT} ] || [ -e "$d/${REBOOT_FLAG}" ]; then
    rm -f "$d/${REBOOT_FLAG}"
    say "guest rebooted (nspawn exit $rc): network namespace made anew"
    ip netns del ${shq(nic.ns)} 2>/dev/null
    ip -n ${shq(nic.peerNs)} link del ${shq(nic.peerPort)} 2>/dev/null
    if ! { ip -batch "$d/nic-root.batch" && ip -n ${shq(nic.peerNs)} -batch "$d/nic-peer.batch" && ip -n ${shq(nic.ns)} -batch "$d/nic-host.batch"; }; then
      say "cannot make the network namespace again: host stays down"; exit 1
    fi
    continue
  fi
  say "guest powered off (nspawn exit $rc)"
  exit "$rc"
done
`;
}

/** The batch files the script reads at a reboot, written into the host dir at `lab up`. */
export function writeNicRebuildFiles(hostDir: string, nic: NicRebuild): void {
  writeFileSync(join(hostDir, 'nic-root.batch'), nic.root.join('\n') + '\n');
  writeFileSync(join(hostDir, 'nic-peer.batch'), nic.peer.join('\n') + '\n');
  writeFileSync(join(hostDir, 'nic-host.batch'), nic.host.join('\n') + '\n');
}
