/**
 * Docker's running state as the start phase and switch-backend's MTU follow-up read it (one script
 * fragment, one parser), and the one way flanprov restarts Docker.
 */
import type { DockerNow } from './changes.js';
import { jsonOr, parseSections, section } from '../../remote/sections.js';

/** Sections docker_active, docker0 (ip -j), docker_cmdline (the running dockerd's argv). */
export function dockerStateScript(): string {
  return `sec docker_active; systemctl is-active docker.service 2>/dev/null
sec docker0; ip -j -4 addr show dev docker0 2>/dev/null
sec docker_cmdline; p=$(systemctl show -p MainPID --value docker.service 2>/dev/null); [ -n "$p" ] && [ "$p" != 0 ] && tr '\\0' ' ' < /proc/$p/cmdline
sec docker_net; ${DOCKER_NET_COMMAND}
`;
}

/** facts.sh runs the same command (facts_docker_net): "MTU SUBNET GATEWAY" of the default bridge network. */
export const DOCKER_NET_COMMAND = `timeout 3 docker network inspect bridge --format '{{index .Options "com.docker.network.driver.mtu"}} {{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}' 2>/dev/null`;

/** "1450 10.244.38.0/24 10.244.38.1" → { mtu: 1450, bip: "10.244.38.1/24" }; undefined when Docker did not answer. */
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

/** Restarts Docker (its failed state reset first), then prints its state (dockerStateScript's sections). */
export function dockerRestartScript(): string {
  return `systemctl reset-failed docker.service 2>/dev/null
systemctl restart docker.service || { systemctl status --no-pager -n 20 docker.service >&2; exit 3; }
${dockerStateScript()}`;
}
