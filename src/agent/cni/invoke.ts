/**
 * Running a delegate plugin as a CNI runtime would (libcni's invoke): found by its type in CNI_PATH, then
 * in the standard directories (/opt/cni/bin, and Debian's /usr/lib/cni, where its bridge and host-local
 * live even when the runtime's CNI_PATH says only /opt/cni/bin), the same environment with CNI_COMMAND
 * set and CNI_PATH extended the same way (so bridge finds host-local), the config on stdin. Its answer is
 * a result (ADD), nothing (DEL, CHECK), or an error document, which is passed on with its code.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';
import { CNI_DEBIAN_BIN_DIR, CNI_DEFAULT_BIN_DIR, CNI_PLUGINS_PACKAGE } from '../../network/cni.js';
import { CniError, CniErrorCode, parseErrorDocument, type CniCommand } from './spec.js';

/** Directories searched for delegates: CNI_PATH first, then the standard ones, each once. */
export function searchDirs(cniPath: readonly string[]): string[] {
  return [...new Set([...cniPath, CNI_DEFAULT_BIN_DIR, CNI_DEBIAN_BIN_DIR])];
}

export interface ExecOutcome {
  /** exit status (null when killed) */
  status: number | null;
  stdout: string;
  stderr: string;
  /** set when it could not be started, or was killed (e.g. the timeout) */
  error?: string;
}

export interface PluginRunner {
  /** an executable file named `type` in one of `dirs`, or undefined */
  find(type: string, dirs: readonly string[]): string | undefined;
  exec(path: string, stdin: string, env: NodeJS.ProcessEnv): ExecOutcome;
}

/** A plugin may take a while (the bridge waits for the veth); a hung one must not hang the runtime forever. */
const DELEGATE_TIMEOUT_MS = 60_000;

export const processRunner: PluginRunner = {
  find(type, dirs) {
    if (!type || type.includes('/')) return undefined;
    for (const d of dirs) {
      const p = join(d, type);
      try {
        accessSync(p, constants.X_OK);
        if (statSync(p).isFile()) return p;
      } catch { /* not here */ }
    }
    return undefined;
  },
  exec(path, stdin, env) {
    const r = spawnSync(path, [], { input: stdin, env, encoding: 'utf8', timeout: DELEGATE_TIMEOUT_MS, maxBuffer: 16 << 20 });
    return {
      status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '',
      ...(r.error ? { error: r.error.message } : r.signal ? { error: `killed by ${r.signal}` } : {}),
    };
  },
};

/** What Debian's containernetworking-plugins ships (for the hint when a delegate is missing). */
const DEBIAN_PLUGINS = new Set(['bandwidth', 'bridge', 'dhcp', 'firewall', 'host-device', 'host-local', 'ipvlan', 'loopback', 'macvlan', 'portmap', 'ptp', 'sbr', 'static', 'tuning', 'vlan', 'vrf']);

export interface DelegateCall {
  command: CniCommand;
  type: string;
  config: string;
  /** the plugin's own environment (the runtime's CNI_* variables) */
  env: NodeJS.ProcessEnv;
  cniPath: readonly string[];
}

/**
 * Runs the delegate; returns its stdout (a result for ADD). Throws the delegate's own error (its code,
 * its message prefixed with who said it), or 101/102 when it cannot be found or does not answer.
 */
export function callDelegate(runner: PluginRunner, c: DelegateCall): string {
  const dirs = searchDirs(c.cniPath);
  const path = runner.find(c.type, dirs);
  if (!path) {
    const hint = DEBIAN_PLUGINS.has(c.type) ? `Debian's ${c.type} is in the package ${CNI_PLUGINS_PACKAGE} (${CNI_DEBIAN_BIN_DIR})` : 'install it in one of these directories';
    throw new CniError(CniErrorCode.DELEGATE_NOT_FOUND, `failed to find plugin "${c.type}" in path [${dirs.join(' ')}]`, hint);
  }
  const r = runner.exec(path, c.config, { ...c.env, CNI_COMMAND: c.command, CNI_PATH: dirs.join(':') });
  if (r.stderr) process.stderr.write(r.stderr);
  if (r.status === 0) return r.stdout;
  let doc;
  try { doc = parseErrorDocument(JSON.parse(r.stdout)); } catch { doc = undefined; }
  if (doc) throw new CniError(doc.code, `delegate ${c.type} (${c.command}): ${doc.msg}`, doc.details);
  const why = r.error ?? `exit status ${r.status}`;
  throw new CniError(CniErrorCode.DELEGATE_FAILED, `delegate ${c.type} (${c.command}) failed: ${why}`, (r.stderr || r.stdout).trim().slice(-500) || 'no output');
}
