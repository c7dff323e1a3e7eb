/**
 * Preflight's view of Docker's bridge settings (issue 9.1): any source other than flanprov's own drop-in
 * that sets what the drop-in owns is refused before anything changes, naming each file and line. Without
 * this, /etc/default/docker's DOCKER_OPTS="--bip=…" passed preflight and dockerd was restarted with two
 * `--bip` flags, failing only after the host had changed.
 */
import { FLANNEL_OWNED_SETTINGS, describeSetting, type DockerSources } from './docker-sources.js';

export function dockerSourceProblems(sources: DockerSources | undefined): string[] {
  if (!sources) return [];
  const owned = sources.settings.filter((s) => FLANNEL_OWNED_SETTINGS.includes(s.name));
  const out: string[] = [];
  const flags = owned.filter((s) => s.kind === 'flag');
  if (flags.length) {
    const files = [...new Set(flags.map((s) => s.source.file))];
    out.push(
      `dockerd already gets ${[...new Set(flags.map((s) => `--${s.name}`))].join(', ')} from outside flanprov: ${flags.map(describeSetting).join('; ')}. ` +
        `flanprov's drop-in sets --bip/--mtu/--ip-masq=false from subnet.env and dockerd would get both; remove ${flags.length > 1 ? 'them' : 'it'} from ${files.join(', ')} (keep every other flag), then run up again`,
    );
  }
  const json = owned.filter((s) => s.kind === 'daemon.json');
  if (json.length) {
    out.push(
      `${json.map(describeSetting).join('; ')}: Docker refuses a flag that is also in daemon.json; remove ${json.length > 1 ? 'them' : 'it'} so flannel's --bip/--mtu/--ip-masq=false apply`,
    );
  }
  return out;
}
