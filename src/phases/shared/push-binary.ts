/**
 * Pushing an executable to a host only when its sha256 differs: the agent (up/push-agent.ts) and a managed
 * etcd's binary (etcd/binary.ts) travel the same way — hashed once on the controller (cached by path, size
 * and mtime), compared with the sha256 the facts script read on the host, streamed with RemoteHost.putFile
 * to a temporary name and renamed (a running executable cannot be overwritten).
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { HostRecorder, HostState } from '../framework/types.js';
import type { TransferMode } from '../../inventory/types.js';
import { sha256OfFile } from '../../remote/upload.js';

export interface LocalBinary {
  path: string;
  sha256: string;
  bytes: number;
}

/**
 * A local executable with its sha256, cached by path, size and mtime (hashing the 99 MB agent costs ~0.3 s, a
 * large part of a no-change run) in ~/.cache/flanprov/agent-sha256.json.
 */
export async function localBinary(path: string): Promise<LocalBinary> {
  const st = statSync(path);
  const cacheFile = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'flanprov', 'agent-sha256.json');
  const key = `${path}:${st.size}:${st.mtimeMs}`;
  let cache: Record<string, string> = {};
  try {
    cache = JSON.parse(readFileSync(cacheFile, 'utf8')) as Record<string, string>;
  } catch { /* no cache yet */ }
  let sha = cache[key];
  if (!sha) {
    sha = await sha256OfFile(path);
    try {
      mkdirSync(dirname(cacheFile), { recursive: true });
      // Keep a few entries: several checkouts (or FLANPROV_AGENT builds, etcd binaries) on one machine must not evict each other.
      writeFileSync(cacheFile, JSON.stringify(Object.fromEntries([...Object.entries(cache).filter(([k]) => k !== key).slice(-7), [key, sha]])));
    } catch { /* a read-only home only costs the next run a re-hash */ }
  }
  return { path, sha256: sha, bytes: st.size };
}

export interface PushInput {
  binary: LocalBinary;
  /** where it goes on the host */
  remotePath: string;
  /** the sha256 of what is there now (undefined: nothing) */
  remoteSha256: string | undefined;
  transfer: TransferMode;
  /** "the agent", "etcd 3.4.23" */
  what: string;
}

/** Pushes the binary when the host's copy differs (or records that it would, in a dry run). True when it was (would be) pushed. */
export async function pushIfDifferent(h: HostState, rec: HostRecorder, p: PushInput, signal?: AbortSignal): Promise<boolean> {
  if (p.remoteSha256 === p.binary.sha256) {
    rec.skip(`${p.what} up to date`);
    return false;
  }
  if (rec.dryRun) {
    rec.changed(`would push ${p.what} (${(p.binary.bytes / 1e6).toFixed(0)} MB) to ${p.remotePath}`);
    return true;
  }
  const r = await h.remote().putFile(p.binary.path, p.remotePath, { mode: 0o755, transfer: p.transfer, sha256: p.binary.sha256, ...(signal ? { signal } : {}) });
  rec.changed(`${p.what} pushed to ${p.remotePath} (${(r.wireBytes / 1e6).toFixed(1)} MB ${r.transfer}, ${(r.ms / 1000).toFixed(1)} s)`);
  return true;
}
