/**
 * Preflight's view of Docker's bridge settings (issue 9.1): any source other than flanprov's own drop-in
 * that sets what the drop-in owns is refused before anything changes, naming each file and line. Without
 * this, /etc/default/docker's DOCKER_OPTS="--bip=…" passed preflight and dockerd was restarted with two
 * `--bip` flags, failing only after the host had changed.
 */
import { FLANNEL_OWNED_SETTINGS, describeSetting, type DockerSources } from './docker-sources.js';
import { execStartsAfterOurs } from './docker-adoption.js';
import { RemotePaths } from '../../inventory/types.js';

export function dockerSourceProblems(sources: DockerSources | undefined): string[] {
  if (!sources) return [];
  const owned = sources.settings.filter((s) => FLANNEL_OWNED_SETTINGS.includes(s.name));
  const out: string[] = [];
  const flags = owned.filter((s) => s.kind === 'flag');
  if (flags.length) {
    const files = [...new Set(flags.map((s) => s.source.file))];
    out.push(
      `dockerd already gets ${[...new Set(flags.map((s) => `--${s.name}`))].join(', ')} from outside flanprov: ${flags.map(describeSetting).join('; ')}. ` +
        `flanprov's drop-in sets --bip/--mtu/--ip-masq=false from subnet.env and dockerd would get both; remove ${flags.length > 1 ? 'them' : 'it'} from ${files.join(', ')} (keep every other flag), then run up again — or run "flanprov up --adopt", which removes them itself (a backup of each file next to it)`,
    );
  }
  const seen = new Set<string>();
  for (const l of execStartsAfterOurs(sources)) {
    if (seen.has(l.file)) continue; // one message per file, at its first ExecStart= line
    seen.add(l.file);
    out.push(`${l.file}:${l.line} sets ExecStart= and sorts after flanprov's ${RemotePaths.dockerDropIn}, so it would replace the command flanprov gives dockerd (--bip/--mtu from subnet.env): rename it to sort before (or run "flanprov up --adopt", which does, a backup next to it)`);
  }
  const json = owned.filter((s) => s.kind === 'daemon.json');
  if (json.length) {
    out.push(
      `${json.map(describeSetting).join('; ')}: Docker refuses a flag that is also in daemon.json; remove ${json.length > 1 ? 'them' : 'it'} so flannel's --bip/--mtu/--ip-masq=false apply — or run "flanprov up --adopt", which removes ${json.length > 1 ? 'them' : 'it'} itself (a backup next to it)`,
    );
  }
  return out;
}
