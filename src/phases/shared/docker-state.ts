/**
 * Docker's running state as the start phase and switch-backend's MTU follow-up read it (lib.sh's
 * fp_docker_state prints it, one parser here), and the one way flanprov restarts Docker.
 */
import type { DockerNow } from './changes.js';
import { jsonOr, parseSections, section } from '../../remote/sections.js';
import { remoteScript } from '../../remote/remote-script.js';

declare module '../../remote/remote-script.js' {
  interface RemoteScripts {
    'docker-restart': { DAEMON_RELOAD: number; PROBE: string };
  }
}

/** lib.sh fp_docker_net's "1450 10.244.38.0/24 10.244.38.1" → { mtu: 1450, bip: "10.244.38.1/24" }; undefined when Docker did not answer. */
export function parseDockerNet(text: string | undefined): DockerNow['running'] {
  const [mtu, subnet, gateway] = (text ?? '').trim().split(/\s+/);
  if (!mtu || !/^\d+$/.test(mtu)) return undefined;
  const len = subnet && /\/(\d+)$/.exec(subnet)?.[1];
  return { mtu: Number(mtu), ...(gateway && len ? { bip: `${gateway}/${len}` } : {}) };
}

export function parseDockerState(out: string): DockerNow {
  const s = parseSections(out);
  const d0 = jsonOr<{ addr_info?: { family: string; local: string; prefixlen: number }[] }[]>(section(s, 'docker0')?.body, []);
  const a = d0[0]?.addr_info?.find((x) => x.family === 'inet');
  const cmd = section(s, 'docker_cmdline')?.body.trim();
  const running = parseDockerNet(section(s, 'docker_net')?.body);
  return {
    ...(running ? { running } : {}),
    active: section(s, 'docker_active')?.body.trim() === 'active',
    ...(a ? { bridgeAddr: `${a.local}/${a.prefixlen}` } : {}),
    ...(cmd ? { cmdline: cmd } : {}),
  };
}

/**
 * Restarts Docker (src/remote/scripts/docker-restart.sh: lib.sh's fp_docker_restart), then prints its state
 * for parseDockerState. daemonReload: reload systemd first; removeProbe: a container to remove first.
 */
export function dockerRestartScript(o: { daemonReload?: boolean; removeProbe?: string } = {}): string {
  return remoteScript('docker-restart', { DAEMON_RELOAD: o.daemonReload ? 1 : 0, PROBE: o.removeProbe ?? '' });
}
