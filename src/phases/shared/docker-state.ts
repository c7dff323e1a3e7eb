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
`;
}

export function parseDockerState(out: string): DockerNow {
  const s = parseSections(out);
  const d0 = jsonOr<{ addr_info?: { family: string; local: string; prefixlen: number }[] }[]>(section(s, 'docker0')?.body, []);
  const a = d0[0]?.addr_info?.find((x) => x.family === 'inet');
  const cmd = section(s, 'docker_cmdline')?.body.trim();
  return {
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
