/**
 * dockerd's own command line, read from `systemctl cat docker.service` *without* flanprov's drop-in, so
 * that re-running `up` appends `--bip/--mtu` to the host's command line once instead of stacking them
 * (systemctl show -p ExecStart would already include our drop-in after the first run).
 */

import { serviceDirectives } from './docker-sources.js';

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

/**
 * The effective `[Service] ExecStart=` of a unit after its fragments (vendor file then drop-ins, in the
 * order systemctl cat lists them), ignoring any fragment whose path is in `exclude` (systemd's rules live
 * in docker-sources.ts). Returns the command line with systemd's prefix characters removed, or undefined.
 */
export function effectiveExecStart(fragments: readonly UnitFragment[], exclude: readonly string[] = []): string | undefined {
  return serviceDirectives(fragments, exclude).execStart?.command;
}
