/**
 * What a managed etcd's member host holds, in one read-only script per member (sections.ts): the etcd
 * binaries there (sha256 and `--version`), the etcd-server package and what apt would install, the unit's
 * state, the files flanprov manages for the member (sha256, mode, owner — no key travels back), the data
 * dir (whose cluster its WAL belongs to: wal-metadata.ts), who listens on the etcd ports, the `etcd` user.
 */
import { EtcdRemotePaths, ETCD_CLIENT_PORT, ETCD_PEER_PORT, ETCD_USER } from '../../etcd/member-layout.js';
import { walIdentity } from '../../etcd/wal-metadata.js';
import type { DataDirState } from '../../etcd/member-plan.js';
import { parseSections, section, sectionsNamed } from '../../remote/sections.js';
import { remoteScript } from '../../remote/remote-script.js';
import { parseFileSections, parseUnitState, type RemoteFile, type UnitState } from '../shared/facts.js';

/** The files flanprov writes on a member. */
export const MEMBER_FILES = [
  EtcdRemotePaths.unit, EtcdRemotePaths.bootstrapEnv, EtcdRemotePaths.ca, EtcdRemotePaths.serverCert,
  EtcdRemotePaths.serverKey, EtcdRemotePaths.peerCert, EtcdRemotePaths.peerKey,
];

/** The Debian package's binary. */
export const PACKAGE_BINARY = '/usr/bin/etcd';
export const ETCD_PACKAGE = 'etcd-server';

export interface InstalledBinary {
  sha256: string;
  /** e.g. "3.4.23"; undefined when `--version` printed no version */
  version?: string;
}

export interface MemberFacts {
  machine: string;
  systemdPid1: boolean;
  /** binaries found, by path (the pushed one and the package's) */
  binaries: Map<string, InstalledBinary>;
  /** the etcd-server package's version when installed */
  packageVersion?: string;
  /** what `apt-get install etcd-server` would install (apt-cache policy's Candidate) */
  packageCandidate?: string;
  unit?: UnitState;
  files: Map<string, RemoteFile>;
  data: DataDirState;
  /** `ss` lines of sockets listening on the client or peer port */
  listeners: string[];
  etcdUser: boolean;
}

/** "etcd Version: 3.4.23" → "3.4.23". */
export function parseEtcdVersion(text: string): string | undefined {
  return /etcd Version:\s*v?(\d+\.\d+\.\d+\S*)/.exec(text)?.[1];
}

declare module '../../remote/remote-script.js' {
  interface RemoteScripts {
    'etcd-member-facts': {
      BINS: readonly string[]; SHA_CACHE: string; PACKAGE: string; FILES: readonly string[]; CONTENT_FILE: string; DATA_DIR: string;
      CLIENT_PORT: number; PEER_PORT: number; ETCD_USER: string;
    };
  }
}

/** The read-only script (src/remote/scripts/etcd-member-facts.sh) for these binaries and the package's. */
export function memberFactsScript(binPaths: readonly string[], dataDir: string = EtcdRemotePaths.dataDir): string {
  return remoteScript('etcd-member-facts', {
    BINS: [...new Set([...binPaths, PACKAGE_BINARY])], SHA_CACHE: EtcdRemotePaths.shaCache, PACKAGE: ETCD_PACKAGE,
    FILES: MEMBER_FILES, CONTENT_FILE: EtcdRemotePaths.bootstrapEnv, DATA_DIR: dataDir,
    CLIENT_PORT: ETCD_CLIENT_PORT, PEER_PORT: ETCD_PEER_PORT, ETCD_USER,
  });
}

/** The data dir from its section: absent/empty, a WAL with its cluster, or something unreadable. */
export function parseDataDir(body: string | undefined): DataDirState {
  if (body === undefined) return { kind: 'absent' };
  const [entries = '', wal = ''] = body.split('\n');
  if (!entries.trim()) return { kind: 'absent' };
  if (!wal.trim()) return { kind: 'unknown', detail: `holds ${entries.trim()} but no member/wal/*.wal` };
  const id = walIdentity(Buffer.from(wal.trim(), 'base64'));
  return id ? { kind: 'wal', ...id } : { kind: 'unknown', detail: 'its first WAL file has no metadata record' };
}

export function parseMemberFacts(stdout: string): MemberFacts {
  const s = parseSections(stdout);
  const body = (n: string): string => section(s, n)?.body ?? '';
  const binaries = new Map<string, InstalledBinary>();
  for (const b of sectionsNamed(s, 'etcd_bin')) {
    const [sha = '', ver = ''] = b.body.split('\n');
    if (!/^[0-9a-f]{64}$/.test(sha.trim())) continue;
    const version = parseEtcdVersion(ver);
    binaries.set(b.arg.replace(/^'|'$/g, ''), { sha256: sha.trim(), ...(version ? { version } : {}) });
  }
  const pkg = /^install ok installed (\S+)/.exec(body('etcd_pkg').trim());
  const cand = body('etcd_candidate').trim();
  const unit = parseUnitState(body('etcd_unit'));
  const f: MemberFacts = {
    machine: body('uname').trim(),
    systemdPid1: body('pid1').trim() === 'systemd',
    binaries,
    ...(pkg ? { packageVersion: pkg[1]! } : {}),
    ...(cand && cand !== '(none)' ? { packageCandidate: cand } : {}),
    ...(unit?.loaded ? { unit } : {}),
    files: parseFileSections(s),
    data: parseDataDir(section(s, 'etcd_data')?.body),
    listeners: body('etcd_listen').split('\n').map((l) => l.trim()).filter(Boolean),
    etcdUser: body('etcd_user').trim() === 'yes',
  };
  return f;
}

/** "1:3.4.23-4+b4" (Debian) → "3.4.23" (etcd's own). */
export function upstreamVersion(debian: string): string {
  return debian.replace(/^\d+:/, '').replace(/[-+~].*$/, '');
}
