/**
 * Which etcd binary each member runs, decided before anything changes (pure): the host's package when it is
 * installed; else a binary flanprov pushed earlier; else the host's package manager when it offers etcd
 * (`flannel_etcd_install: auto`, the default); else the controller's own binary, pushed like the agent.
 * `package` and `push` force one way. Every member must end up on the same etcd version, 3.4 or later.
 */
import { MIN_ETCD_VERSION } from '../../etcd/member-layout.js';
import type { EtcdMemberSpec } from '../../inventory/types.js';
import { PACKAGE_BINARY, upstreamVersion, type MemberFacts } from './member-facts.js';

/** The controller's etcd binary (flannel_etcd_binary): its version and architecture, read on the controller. */
export interface LocalEtcd {
  path: string;
  version?: string;
  /** `uname -m` spelling of the ELF machine, e.g. x86_64 */
  machine?: string;
  /** why it cannot be used (not executable, no version, ...) */
  error?: string;
}

export interface BinaryChoice {
  member: string;
  /** what the unit runs */
  execPath: string;
  version: string;
  action: 'none' | 'apt-install' | 'push';
  /** the controller's binary, for action push */
  local?: LocalEtcd;
  /** for messages: "package etcd-server 3.4.23-4+b4", "pushed from /usr/bin/etcd" */
  source: string;
}

export function chooseBinary(m: EtcdMemberSpec, f: MemberFacts, local: LocalEtcd | undefined): BinaryChoice | { member: string; error: string } {
  const installedPkg = f.packageVersion !== undefined;
  const pushedBefore = f.binaries.has(m.binPath) && m.binPath !== PACKAGE_BINARY;
  const pkg = (): BinaryChoice | undefined => {
    if (installedPkg) {
      return { member: m.name, execPath: PACKAGE_BINARY, version: f.binaries.get(PACKAGE_BINARY)?.version ?? upstreamVersion(f.packageVersion!), action: 'none', source: `package etcd-server ${f.packageVersion}` };
    }
    if (f.packageCandidate) return { member: m.name, execPath: PACKAGE_BINARY, version: upstreamVersion(f.packageCandidate), action: 'apt-install', source: `package etcd-server ${f.packageCandidate} (to install)` };
    return undefined;
  };
  const push = (): BinaryChoice | { member: string; error: string } => {
    if (!local) return { member: m.name, error: `no etcd binary on the controller to push (none on the PATH): install etcd (Debian: etcd-server) on the controller or set flannel_etcd_binary` };
    if (local.error) return { member: m.name, error: `cannot push ${local.path}: ${local.error}` };
    if (local.machine && f.machine && local.machine !== f.machine) return { member: m.name, error: `${local.path} is built for ${local.machine}, the host is ${f.machine}: set flannel_etcd_binary to an etcd for ${f.machine}` };
    return { member: m.name, execPath: m.binPath, version: local.version!, action: 'push', local, source: `pushed from ${local.path}` };
  };
  switch (m.install) {
    case 'package':
      return pkg() ?? { member: m.name, error: 'flannel_etcd_install is package, but etcd-server is neither installed nor offered by the package manager (apt-cache policy etcd-server shows no candidate)' };
    case 'push':
      return push();
    default:
      if (installedPkg) return pkg()!;
      if (pushedBefore) return push();
      return pkg() ?? push();
  }
}

/** Compares dotted versions numerically: <0, 0, >0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((x) => parseInt(x, 10) || 0);
  const pb = b.split(/[.-]/).map((x) => parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

/** Refusals about versions: unknown, older than 3.4, or not the same on every member. */
export function versionProblems(choices: readonly BinaryChoice[]): string[] {
  const out: string[] = [];
  for (const c of choices) {
    if (!c.version) out.push(`${c.member}: cannot tell the version of etcd (${c.source})`);
    else if (compareVersions(c.version, MIN_ETCD_VERSION) < 0) out.push(`${c.member}: etcd ${c.version} (${c.source}) is older than ${MIN_ETCD_VERSION}, the oldest flanprov runs`);
  }
  const versions = new Set(choices.map((c) => c.version));
  if (versions.size > 1) {
    out.push(`the etcd members would run different etcd versions: ${choices.map((c) => `${c.member} ${c.version} (${c.source})`).join(', ')}; every member must run the same one (set flannel_etcd_binary or flannel_etcd_install alike for all)`);
  }
  return out;
}
