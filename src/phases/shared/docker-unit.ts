/**
 * dockerd's own command line, read from `systemctl cat docker.service` *without* flanprov's drop-in, so
 * that re-running `up` appends `--bip/--mtu` to the host's command line once instead of stacking them
 * (systemctl show -p ExecStart would already include our drop-in after the first run).
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

/** Logical lines of a unit file: comments dropped, backslash continuations joined (systemd's rules). */
function logicalLines(text: string): string[] {
  const out: string[] = [];
  let acc = '';
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\s+$/, '');
    if (!acc && (/^\s*[#;]/.test(line) || !line.trim())) continue;
    if (line.endsWith('\\')) {
      acc += line.slice(0, -1) + ' ';
      continue;
    }
    out.push((acc + line).trim());
    acc = '';
  }
  if (acc.trim()) out.push(acc.trim());
  return out;
}

/**
 * The effective `[Service] ExecStart=` of a unit after its fragments (vendor file then drop-ins, in the
 * order systemctl cat lists them), ignoring any fragment whose path is in `exclude`. An empty `ExecStart=`
 * resets the list, as in systemd. Returns the last command line (a service has one), with systemd's
 * prefix characters (-@:+!) removed, or undefined when there is none.
 */
export function effectiveExecStart(fragments: readonly UnitFragment[], exclude: readonly string[] = []): string | undefined {
  let cmds: string[] = [];
  for (const f of fragments) {
    if (exclude.includes(f.path)) continue;
    let inService = false;
    for (const line of logicalLines(f.text)) {
      const sec = /^\[(.+)\]$/.exec(line);
      if (sec) {
        inService = sec[1] === 'Service';
        continue;
      }
      if (!inService) continue;
      const m = /^ExecStart\s*=\s*(.*)$/.exec(line);
      if (!m) continue;
      const v = m[1]!.trim();
      if (!v) cmds = [];
      else cmds.push(v.replace(/^[-@:+!]+/, ''));
    }
  }
  return cmds.length ? cmds[cmds.length - 1] : undefined;
}

/**
 * dockerd flags that fight with flannel's `--bip/--mtu/--ip-masq=false` (preflight refuses them on the
 * command line): a second --ip-masq would decide who masquerades by flag order.
 */
export function conflictingDockerdFlags(cmdline: string): string[] {
  const found: string[] = [];
  for (const tok of cmdline.split(/\s+/)) {
    const m = /^(--bip|--mtu|-b|--bridge|--fixed-cidr|--ip-masq)(=|$)/.exec(tok);
    if (m && !found.includes(m[1]!)) found.push(m[1]!);
  }
  return found;
}
