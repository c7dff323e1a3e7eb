/**
 * The offline probe image `flanprov-probe:1` (busybox + iputils ping, built with the rootfs in rootfs.ts)
 * and the host readiness check that imports it: one SSH session per host that waits for systemd to finish
 * booting, checks the container runtime (Docker, or Podman on Podman hosts), and imports the tarball,
 * which every host sees read-only at PROBE_TAR_IN_HOST (bound by hosts.ts: nothing crosses the network, so
 * a --wan lab does not push it through its rate limit). Nothing is pulled from a registry.
 */
import { run, sleep } from './exec.js';
import { sshArgs } from './ssh-keys.js';
import type { Runtime } from './runtime.js';
import { StepFailedError } from '../util/errors.js';
import { PROBE_IMAGE } from '../network/probe.js';

export { PROBE_IMAGE };
export const PROBE_TAR_IN_HOST = '/usr/share/flanprov-lab/probe.tar';

const CLI: Record<Runtime, string> = { docker: 'docker', podman: 'podman' };

/** Runs on the host (sh): exit 3 = systemd not "running" (prints failed units), 4 = the runtime is not usable. */
export function readyScript(runtime: Runtime): string {
  const c = CLI[runtime];
  return `
state=$(systemctl is-system-running --wait 2>/dev/null)
if [ "$state" != running ]; then echo "systemd is $state; failed units:" >&2; systemctl --failed --no-legend --plain >&2; exit 3; fi
i=0; until ${c} info >/dev/null 2>&1; do i=$((i+1)); [ $i -gt 100 ] && { echo "${c} info fails:" >&2; ${c} info 2>&1 | tail -3 >&2; exit 4; }; sleep 0.1; done
${c} image inspect ${PROBE_IMAGE} >/dev/null 2>&1 || ${c} import --change 'CMD ["sleep","31536000"]' ${PROBE_TAR_IN_HOST} ${PROBE_IMAGE} >/dev/null || exit 4
echo ready
`;
}

export async function readyAndImportProbe(lab: string, host: string, ip: string, runtime: Runtime, timeoutMs = 90_000): Promise<void> {
  // sshd can accept a connection a moment before it is fully up: retry the connection itself (exit 255)
  const end = Date.now() + timeoutMs;
  for (;;) {
    const r = await run('ssh', [...sshArgs(lab, ip), readyScript(runtime)], { timeoutMs: Math.max(1000, end - Date.now()) });
    if (r.code === 0 && r.stdout.includes('ready')) return;
    if (r.code !== 255 || Date.now() > end) {
      const why = r.code === 3 ? 'systemd did not reach "running"' : r.code === 4 ? `${CLI[runtime]} is not usable` : `ssh failed (exit ${r.code})`;
      throw new StepFailedError(`${why}: ${r.stderr.trim().split('\n').slice(-6).join('; ')}`, host);
    }
    await sleep(100);
  }
}
