/**
 * The offline probe image `flanprov-probe:1` (busybox + iputils ping, built with the rootfs in rootfs.ts)
 * and the host readiness check that imports it: one SSH session per host that waits for systemd to finish
 * booting, checks Docker, and `docker import`s the tarball streamed on stdin. Nothing is pulled from a registry.
 */
import { run, sleep } from './exec.js';
import { sshArgs } from './ssh-keys.js';
import { StepFailedError } from '../util/errors.js';
import { PROBE_IMAGE } from '../network/probe.js';

export { PROBE_IMAGE };

/** Runs on the host (sh): exit 3 = systemd not "running" (prints failed units), 4 = Docker not usable. */
const READY_SCRIPT = `
state=$(systemctl is-system-running --wait 2>/dev/null)
if [ "$state" != running ]; then echo "systemd is $state; failed units:" >&2; systemctl --failed --no-legend --plain >&2; exit 3; fi
i=0; until docker info >/dev/null 2>&1; do i=$((i+1)); [ $i -gt 100 ] && { echo "docker info fails:" >&2; docker info 2>&1 | tail -3 >&2; exit 4; }; sleep 0.1; done
docker image inspect ${PROBE_IMAGE} >/dev/null 2>&1 || docker import --change 'CMD ["sleep","31536000"]' - ${PROBE_IMAGE} >/dev/null || exit 4
echo ready
`;

/** `tar` is the probe image tarball (rootfs.ts's probe.tar), read once by the caller for every host. */
export async function readyAndImportProbe(lab: string, host: string, ip: string, tar: Buffer, timeoutMs = 90_000): Promise<void> {
  // sshd can accept a connection a moment before it is fully up: retry the connection itself (exit 255)
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await run('ssh', [...sshArgs(lab, ip), READY_SCRIPT], { input: tar, timeoutMs: Math.max(1000, end - Date.now()) });
    if (r.code === 0 && r.stdout.includes('ready')) return;
    if (r.code !== 255 || Date.now() > end) {
      const why = r.code === 3 ? 'systemd did not reach "running"' : r.code === 4 ? 'Docker is not usable' : `ssh failed (exit ${r.code})`;
      throw new StepFailedError(`${why}: ${r.stderr.trim().split('\n').slice(-6).join('; ')}`, host);
    }
    await sleep(100);
  }
}
