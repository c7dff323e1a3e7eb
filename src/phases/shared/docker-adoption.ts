/**
 * `up --adopt`, Docker's side (issue 9.2): what to change so that the bridge settings of a hand-built host
 * come from flanprov's drop-in only, keeping every other flag.
 *  - Flags on an ExecStart line (a docker-machine `10-machine.conf`, an edited unit): flanprov's drop-in
 *    replaces ExecStart anyway, so they are left out of the command it repeats (stripOwnedFlags) and the
 *    user's file is not touched; `down` brings their line back as it was.
 *  - Flags that come through a variable (`DOCKER_OPTS` in /etc/default/docker, mk-docker-opts.sh's
 *    /run/docker_opts.env): removed from that file's assignment, a backup of the file next to it.
 *  - daemon.json keys (Docker refuses a flag also set there): removed, a backup next to it.
 *  - A non-optional `EnvironmentFile=` under /run (mk-docker-opts' output: gone after a reboot, and with it
 *    Docker, once the old flanneld that wrote it no longer runs) becomes optional (`-`), in /etc only.
 * Pure: the plan is computed from the facts; the phase applies it with verified uploads.
 */
import { FLANNEL_OWNED_SETTINGS, splitUnitWords, type DockerSources, type SourceRef } from './docker-sources.js';
import { RemotePaths } from '../../inventory/types.js';

const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);

/**
 * ExecStart= lines in drop-ins that systemd reads after flanprov's (drop-ins apply in file-name order, across
 * /etc, /run and /lib): such a line replaces the command flanprov's drop-in gives dockerd, --bip and all
 * (docker-machine's 10-machine.conf sorts after 10-flannel.conf).
 */
export function execStartsAfterOurs(sources: DockerSources, ours: string = RemotePaths.dockerDropIn): SourceRef[] {
  return sources.execStartLines.filter((l) => l.file !== ours && /\.service\.d\/[^/]+\.conf$/.test(l.file) && base(l.file) > base(ours));
}

/** Where adoption moves such a drop-in: next to flanprov's, sorting just before it, order among them kept. */
export function adoptedDropInPath(path: string, ours: string = RemotePaths.dockerDropIn): string {
  return `${path.slice(0, path.lastIndexOf('/') + 1)}${base(ours).replace(/\.conf$/, '')}-adopted-${base(path)}`;
}

export interface DockerFileEdit {
  path: string;
  before: string;
  after: string;
  /** where the original is kept */
  backup: string;
  /** what changes, for the dry run and the report */
  why: string[];
  /** the edited file is written here and `path` removed (a drop-in renamed to sort before flanprov's) */
  moveTo?: string;
}

export interface DockerAdoptionPlan {
  edits: DockerFileEdit[];
  /** what cannot be adopted safely, with what to do */
  problems: string[];
}

/** The suffix of the copy of every file adoption edits (one per file: an earlier backup is never overwritten). */
export const ADOPTION_BACKUP_SUFFIX = '.flanprov-backup';

const OWNED_FLAG = new RegExp(
  String.raw`(^|\s)(?:(?:--bip|--mtu|--bridge|-b|--fixed-cidr)(?:=\S*|\s+[^\s-]\S*)|--ip-masq(?:=\S*)?)(?=\s|$)`,
  'g',
);

/** A command line or option string without the flags flanprov's drop-in owns; other text kept as it was. */
export function stripOwnedFlags(text: string): string {
  OWNED_FLAG.lastIndex = 0;
  if (!OWNED_FLAG.test(text)) return text; // nothing to take out: the line stays exactly as written
  let prev: string;
  let out = text;
  do {
    prev = out;
    out = out.replace(OWNED_FLAG, '$1');
  } while (out !== prev);
  return out.replace(/[ \t]{2,}/g, ' ').replace(/[ \t]+$/g, '').replace(/^([ \t]*)[ \t]+/, '$1');
}

/** Edits of one environment file: the flags removed from the assignments on the named lines. */
function editEnvFile(text: string, lines: ReadonlySet<number>): string {
  return text
    .split('\n')
    .map((l, i) => {
      if (!lines.has(i + 1)) return l;
      const m = /^(\s*(?:export\s+)?[A-Za-z_][A-Za-z0-9_]*\s*=\s*)(["']?)(.*?)\2(\s*)$/.exec(l);
      if (!m) return l;
      const value = stripOwnedFlags(m[3]!).trim();
      const q = m[2] || (value.includes(' ') ? '"' : '');
      return `${m[1]}${q}${value}${q}${m[4]}`;
    })
    .join('\n');
}

export function planDockerAdoption(sources: DockerSources | undefined): DockerAdoptionPlan {
  const plan: DockerAdoptionPlan = { edits: [], problems: [] };
  if (!sources) return plan;
  const byFile = new Map<string, { lines: Set<number>; why: string[]; kind: 'env' | 'json' }>();
  for (const s of sources.settings) {
    if (!FLANNEL_OWNED_SETTINGS.includes(s.name)) continue;
    // on an ExecStart line: flanprov's drop-in leaves it out (stripOwnedFlags); a drop-in that sorts after
    // flanprov's is edited below
    if (s.kind === 'flag' && !s.via) continue;
    const e = byFile.get(s.source.file) ?? { lines: new Set<number>(), why: [], kind: s.kind === 'flag' ? 'env' : 'json' };
    e.lines.add(s.source.line);
    e.why.push(s.kind === 'flag' ? `--${s.name}=${s.value} removed from ${s.via}` : `"${s.name}" removed`);
    byFile.set(s.source.file, e);
  }
  for (const [path, e] of byFile) {
    const before = sources.files.get(path);
    if (before === undefined) {
      plan.problems.push(`${path}: cannot read it to remove ${e.why.join(', ')}`);
      continue;
    }
    let after: string;
    if (e.kind === 'json') {
      const json = JSON.parse(before) as Record<string, unknown>;
      for (const k of FLANNEL_OWNED_SETTINGS) delete json[k];
      after = JSON.stringify(json, null, 2) + '\n';
    } else {
      after = editEnvFile(before, e.lines);
    }
    if (after !== before) plan.edits.push({ path, before, after, backup: path + ADOPTION_BACKUP_SUFFIX, why: e.why });
  }
  // drop-ins that would replace flanprov's ExecStart: the flannel flags out of their lines, and renamed to
  // sort just before flanprov's, so their command is the one flanprov's drop-in repeats
  for (const file of [...new Set(execStartsAfterOurs(sources).map((l) => l.file))]) {
    const before = sources.files.get(file);
    if (!file.startsWith('/etc/') || before === undefined) {
      plan.problems.push(`${file} sets ExecStart= and sorts after flanprov's ${RemotePaths.dockerDropIn}, so it would replace flanprov's --bip/--mtu; it is not in /etc: rename or override it by hand`);
      continue;
    }
    const lines = before.split('\n');
    let inExec = false;
    const after = lines.map((l) => {
      if (/^\s*ExecStart\s*=/.test(l)) inExec = true;
      const out = inExec ? stripOwnedFlags(l) : l;
      if (inExec && !/\\\s*$/.test(l)) inExec = false;
      return out;
    }).join('\n').replace(/\n+$/, '\n'); // systemctl cat's separating blank line is not the file's
    plan.edits.push({ path: file, before, after, backup: file + ADOPTION_BACKUP_SUFFIX, moveTo: adoptedDropInPath(file), why: [`renamed to ${base(adoptedDropInPath(file))} to sort before flanprov's drop-in, flannel flags taken out of its ExecStart`] });
  }
  // mk-docker-opts' output under /run, required by a unit line: optional from now on
  for (const ef of sources.environmentFiles) {
    if (ef.optional || !ef.path.startsWith('/run/')) continue;
    const frag = ef.source.file;
    if (!frag.startsWith('/etc/')) {
      plan.problems.push(
        `${frag}:${ef.source.line} requires EnvironmentFile=${ef.path}, which nothing writes once flannel's mk-docker-opts.sh no longer runs (Docker would not start after a reboot); ${frag} belongs to a package: override it in /etc/systemd/system/docker.service.d/ with EnvironmentFile=-${ef.path}`,
      );
      continue;
    }
    const prior = plan.edits.find((x) => x.path === frag);
    const before = prior?.after ?? sources.files.get(frag);
    if (before === undefined) continue;
    const lines = before.split('\n');
    const i = ef.source.line - 1;
    const words = splitUnitWords(lines[i]?.replace(/^\s*EnvironmentFile\s*=\s*/, '') ?? '');
    if (!/^\s*EnvironmentFile\s*=/.test(lines[i] ?? '') || !words.includes(ef.path)) continue;
    lines[i] = lines[i]!.replace(ef.path, `-${ef.path}`);
    const after = lines.join('\n');
    const why = `EnvironmentFile=${ef.path} made optional (mk-docker-opts.sh's output)`;
    if (prior) {
      prior.after = after;
      prior.why.push(why);
    } else {
      plan.edits.push({ path: frag, before: sources.files.get(frag)!, after, backup: frag + ADOPTION_BACKUP_SUFFIX, why: [why] });
    }
  }
  return plan;
}
