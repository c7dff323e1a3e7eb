/**
 * `systemctl cat docker.service` split into its files; systemd's rules over them (ExecStart, Environment,
 * EnvironmentFile, expansion) are in docker-sources.ts. facts reads dockerd's command line *without*
 * flanprov's drop-in from it, so re-running `up` appends `--bip/--mtu` once instead of stacking them.
 */

export interface UnitFragment {
  /** the file path from systemctl cat's "# /path" header */
  path: string;
  text: string;
}

/** Splits `systemctl cat` output into its files (each starts with a "# /path/to/file" line). */
export function splitSystemctlCat(text: string): UnitFragment[] {
  const out: UnitFragment[] = [];
  let cur: UnitFragment | undefined;
  for (const line of text.split('\n')) {
    const m = /^# (\/\S+)$/.exec(line);
    if (m) {
      cur = { path: m[1]!, text: '' };
      out.push(cur);
    } else if (cur) {
      cur.text += line + '\n';
    }
  }
  return out;
}
