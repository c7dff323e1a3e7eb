/**
 * `flanneld serve-file`: the agent binary serves files over HTTP for a while, so that hosts copy the agent
 * from each other instead of each from the controller (flannel_agent_source: peers). The CLI renders this
 * command line and the agent parses it; both use this module, so they cannot disagree.
 *
 *   flanneld serve-file --listen=IP:PORT --file=/agent=/usr/local/bin/flanneld [--file=/agent.xz=...]
 *                       [--allow=IP,IP...] [--idle-timeout=SECONDS] [--remove-on-exit=PATH...]
 */
export const SERVE_FILE_COMMAND = 'serve-file';

/** The TCP port peers fetch the agent from (flannel_agent_serve_port); next to the agent's healthz port 8471. */
export const DEFAULT_AGENT_SERVE_PORT = 8473;

export interface ServeFileArgs {
  /** the address to listen on (the host's public IP: peers reach it over the hosts' own network) */
  listen: string;
  port: number;
  /** URL path (e.g. /agent.xz) → file served there */
  files: Record<string, string>;
  /** client addresses that may fetch (empty: anyone); others get 403 */
  allow: string[];
  /** exit after this long without a request in flight */
  idleTimeoutS: number;
  /** files removed when the server exits (a copy kept only to be served) */
  removeOnExit: string[];
}

/** The arguments after `flanneld` (SERVE_FILE_COMMAND first). */
export function serveFileArgv(a: ServeFileArgs): string[] {
  return [
    SERVE_FILE_COMMAND,
    `--listen=${a.listen}:${a.port}`,
    ...Object.entries(a.files).map(([path, file]) => `--file=${path}=${file}`),
    ...(a.allow.length ? [`--allow=${a.allow.join(',')}`] : []),
    `--idle-timeout=${a.idleTimeoutS}`,
    ...a.removeOnExit.map((f) => `--remove-on-exit=${f}`),
  ];
}

/** Parses what serveFileArgv renders (the part after SERVE_FILE_COMMAND); throws Error naming the bad argument. */
export function parseServeFileArgv(argv: readonly string[]): ServeFileArgs {
  const a: ServeFileArgs = { listen: '', port: 0, files: {}, allow: [], idleTimeoutS: 60, removeOnExit: [] };
  for (const arg of argv) {
    const m = /^--?([a-z-]+)=(.*)$/.exec(arg);
    if (!m) throw new Error(`serve-file: unexpected argument "${arg}" (every option is --name=value)`);
    const [, name, value] = m as unknown as [string, string, string];
    switch (name) {
      case 'listen': {
        const l = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d{1,5})$/.exec(value);
        if (!l || Number(l[2]) < 1 || Number(l[2]) > 65535) throw new Error(`serve-file: --listen wants IPV4:PORT, got "${value}"`);
        a.listen = l[1]!;
        a.port = Number(l[2]);
        break;
      }
      case 'file': {
        const f = /^(\/[^=]*)=(\/.+)$/.exec(value);
        if (!f) throw new Error(`serve-file: --file wants /URL-PATH=/ABSOLUTE/FILE, got "${value}"`);
        a.files[f[1]!] = f[2]!;
        break;
      }
      case 'allow':
        a.allow.push(...value.split(',').filter(Boolean));
        break;
      case 'idle-timeout':
        if (!/^\d+$/.test(value) || Number(value) < 1) throw new Error(`serve-file: --idle-timeout wants whole seconds >= 1, got "${value}"`);
        a.idleTimeoutS = Number(value);
        break;
      case 'remove-on-exit':
        if (!value.startsWith('/')) throw new Error(`serve-file: --remove-on-exit wants an absolute path, got "${value}"`);
        a.removeOnExit.push(value);
        break;
      default:
        throw new Error(`serve-file: unknown option --${name}`);
    }
  }
  if (!a.listen) throw new Error('serve-file: --listen=IP:PORT is required');
  if (!Object.keys(a.files).length) throw new Error('serve-file: at least one --file=/PATH=FILE is required');
  return a;
}
