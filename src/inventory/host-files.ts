/**
 * The files `up` writes on a host, rendered from templates/ with handlebars (noEscape: unit files are not
 * HTML; strict: a missing variable is an error, not an empty string). Each comes back as
 * {path, content, mode, role} so `up` can compare it with what is on the host and decide what to restart.
 *
 * - flanneld.service: Type=notify, Restart=always, ExecStart = bin dir + the inventory's agent flags,
 *   secrets only in an EnvironmentFile (mode 0600);
 * - docker.service.d/10-flannel.conf: After/Wants=flanneld, EnvironmentFile=/run/flannel/subnet.env,
 *   `ExecStart=` reset then the host's own dockerd command line + --bip/--mtu (a fact gathered on the host;
 *   `flanprov render` without SSH uses Debian's default and says so in its header, not in the file, so
 *   the file it prints is byte for byte the one `up` writes on a Debian host);
 * - /etc/cni/net.d/10-flannel.conflist on `flannel_runtime: cni` hosts (network/cni.ts), which get no
 *   Docker drop-in; the plugin itself is a link to the agent binary (cniPluginLink), not a file;
 * - /etc/flannel/flanneld.env (only when there is a secret) and the etcd TLS files (mode 0600).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type Handlebars from 'handlebars';
import { RemotePaths, type ClusterSpec, type HostSpec } from './types.js';
import { CNI_PLUGIN_TYPE, renderConflist } from '../network/cni.js';

export type FileRole = 'agent-unit' | 'docker-dropin' | 'cni-conf' | 'agent-env' | 'agent-tls' | 'other';

export interface RenderedFile {
  path: string;
  content: string;
  mode: number;
  role: FileRole;
}

/** dockerd's ExecStart in Debian 12's docker.io docker.service (used when the host's is not known). */
export const DEBIAN_DOCKERD_COMMAND = '/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock $DOCKER_OPTS';

export interface RenderHostInput {
  host: Pick<HostSpec, 'name' | 'flannel' | 'agentFlags' | 'agentEnv'>;
  /** write the Docker drop-in (flannel_docker true, or auto and docker.service exists) */
  docker: boolean;
  /** the host's own dockerd command line (without flanprov's drop-in); undefined = Debian's default */
  dockerdCommand?: string;
  /** false: the etcd TLS files are listed with empty content, not read (render: they may not exist yet) */
  readTls?: boolean;
}

/** Where templates/ is: next to src/ in a checkout, next to dist/ in the bundled CLI. */
export function templatesDir(): string {
  for (let d = __dirname; ; d = dirname(d)) {
    const t = join(d, 'templates');
    if (existsSync(join(t, 'flanneld.service.hbs'))) return t;
    if (dirname(d) === d) throw new Error(`internal: templates/ not found above ${__dirname}`);
  }
}

/** handlebars (~25-40 ms of a start), loaded at the first render or when a caller has time to spare (the facts wait) */
export function loadHandlebars(): typeof Handlebars {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('handlebars') as typeof Handlebars;
}

const compiled = new Map<string, Handlebars.TemplateDelegate>();
export function renderTemplate(name: string, data: Record<string, unknown>): string {
  let t = compiled.get(name);
  if (!t) {
    t = loadHandlebars().compile(readFileSync(join(templatesDir(), name), 'utf8'), { noEscape: true, strict: true });
    compiled.set(name, t);
  }
  return t(data);
}

/**
 * One command-line word for systemd's ExecStart: `%` → `%%` (specifiers), `$` → `$$` (variable expansion),
 * and double quotes (with \\ and \" escaped) when it has whitespace, quotes or backslashes.
 */
export function systemdWord(w: string): string {
  const s = w.replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /[\s"'\\;]/.test(s) || s === '' ? `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"` : s;
}

export function agentBinary(h: Pick<HostSpec, 'flannel'>): string {
  return `${h.flannel.binDir.replace(/\/+$/, '')}/flanneld`;
}

/** Where the CNI plugin goes on a `cni` host: a symlink to the agent (a push renames a new binary in; the link follows). */
export function cniPluginLink(h: Pick<HostSpec, 'flannel'>): string {
  return `${h.flannel.cni.binDir.replace(/\/+$/, '')}/${CNI_PLUGIN_TYPE}`;
}

export function renderFlanneldUnit(inp: RenderHostInput): string {
  const h = inp.host;
  return renderTemplate('flanneld.service.hbs', {
    envFile: Object.keys(h.agentEnv).length ? RemotePaths.agentEnvFile : '',
    execStart: [agentBinary(h), ...h.agentFlags].map(systemdWord).join(' '),
    restartSec: 5,
    timeoutStartSec: 300,
  });
}

/**
 * Only dockerd's command line and subnet.env go in: no flannel_* setting (e.g. flannel_ip_masq) changes
 * this file, so changing one restarts the agents and never Docker (issue 4).
 */
export function renderDockerDropIn(inp: RenderHostInput): string {
  return renderTemplate('docker-flannel.conf.hbs', {
    subnetEnv: RemotePaths.subnetEnv,
    dockerdCommand: inp.dockerdCommand ?? DEBIAN_DOCKERD_COMMAND,
  });
}

/** An EnvironmentFile line: systemd's quoting rules (double quotes, backslash escapes). */
export function envFileLine(k: string, v: string): string {
  return `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"\n`;
}

/** Every file `up` writes on this host. Reads the local etcd TLS files. */
export function renderHostFiles(inp: RenderHostInput): RenderedFile[] {
  const h = inp.host;
  const files: RenderedFile[] = [{ path: RemotePaths.flanneldUnit, content: renderFlanneldUnit(inp), mode: 0o644, role: 'agent-unit' }];
  if (inp.docker) files.push({ path: RemotePaths.dockerDropIn, content: renderDockerDropIn(inp), mode: 0o644, role: 'docker-dropin' });
  if (h.flannel.runtime === 'cni') {
    files.push({ path: RemotePaths.cniConflist, content: renderConflist({ network: h.flannel.cni.network, cniVersion: h.flannel.cni.version }), mode: 0o644, role: 'cni-conf' });
  }
  const env = Object.entries(h.agentEnv);
  if (env.length) {
    files.push({ path: RemotePaths.agentEnvFile, content: `# Written by flanprov: secrets for flanneld (mode 0600)\n${env.map(([k, v]) => envFileLine(k, v)).join('')}`, mode: 0o600, role: 'agent-env' });
  }
  const tls: [string | undefined, string][] = [
    [h.flannel.etcdCaFile, RemotePaths.etcdCa], [h.flannel.etcdCertFile, RemotePaths.etcdCert], [h.flannel.etcdKeyFile, RemotePaths.etcdKey],
  ];
  for (const [local, remote] of tls) if (local) files.push({ path: remote, content: inp.readTls === false ? '' : readFileSync(local, 'utf8'), mode: 0o600, role: 'agent-tls' });
  return files;
}

/** The network config as written to `<prefix>/config` (flannel's field names), pretty-printed. */
export function renderNetworkConfig(cluster: Pick<ClusterSpec, 'networkConfig'>): string {
  return `${JSON.stringify(cluster.networkConfig, null, 2)}\n`;
}
