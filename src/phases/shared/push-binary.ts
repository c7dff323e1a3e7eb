/**
 * Pushing an executable to a host only when its sha256 differs: the agent (up/push-agent.ts) and a managed
 * etcd's binary travel the same way — hashed once on the controller (or read from the build's manifest,
 * dist/flanneld.json), compared with the sha256 the facts script read on the host, streamed with
 * RemoteHost.putFile to a temporary name, checked and renamed (a running executable cannot be overwritten).
 * How it travels (xz / gzip prebuilt copy, plain, SFTP) is agent-source.ts's pushWay.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { HostRecorder, HostState } from '../framework/types.js';
import type { TransferMode } from '../../inventory/types.js';
import { ENCODINGS, type Encoding } from '../../remote/encodings.js';
import type { ScriptPart } from '../../remote/remote-script.js';
import { sha256OfFile } from '../../remote/upload.js';
import { pushWay, type LocalBinary } from './agent-source.js';

export type { LocalBinary } from './agent-source.js';

/**
 * The build's manifest next to `path` (`<path>.json`, scripts/compress-agent.mjs) when it describes this very
 * file (same length and mtime): its sha256 and the prebuilt encoded copies that exist.
 */
function fromManifest(path: string, size: number, mtimeMs: number): LocalBinary | undefined {
  let m: { bytes?: number; mtimeMs?: number; sha256?: string; encodings?: Record<string, { file?: string; bytes?: number }> };
  try {
    m = JSON.parse(readFileSync(`${path}.json`, 'utf8')) as typeof m;
  } catch {
    return undefined;
  }
  if (m.bytes !== size || m.mtimeMs !== mtimeMs || !/^[0-9a-f]{64}$/.test(m.sha256 ?? '')) return undefined;
  const encoded: LocalBinary['encoded'] = {};
  for (const e of ENCODINGS) {
    const d = e === 'plain' ? undefined : m.encodings?.[e];
    if (e === 'plain' || !d?.file) continue;
    const file = join(dirname(path), d.file);
    try {
      if (statSync(file).size === d.bytes) encoded[e] = { file, bytes: d.bytes };
    } catch { /* that copy is gone: not offered */ }
  }
  return { path, sha256: m.sha256!, bytes: size, encoded };
}

/**
 * A local executable with its sha256: from the build's manifest, else hashed and cached by path, size and
 * mtime (hashing the 99 MB agent costs ~0.3 s, a large part of a no-change run) in
 * ~/.cache/flanprov/agent-sha256.json.
 */
export async function localBinary(path: string): Promise<LocalBinary> {
  const st = statSync(path);
  const built = fromManifest(path, st.size, st.mtimeMs);
  if (built) return built;
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
  return { path, sha256: sha, bytes: st.size, encoded: {} };
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
  /** keep the (encoded) stream on the host at this path as well, with its encoding (a peers seed serves it) */
  keepAt?: (encoding: Encoding) => string;
  /**
   * A script part for the same exec, once the binary is in place, given what the host then holds: the
   * encoding of the copy kept at `keptAt` (plain when none is), e.g. a peers seed's server start (PutFileOptions.then).
   */
  then?: (kept: Encoding, keptAt: string | undefined) => { part: ScriptPart; failedExit: number };
  signal?: AbortSignal;
}

/**
 * What a push did: the encoding that travelled, where its copy was kept and in which encoding (`kept`:
 * plain when no copy was kept), the `then` part's failure.
 */
export interface Pushed { encoding: Encoding | 'sftp'; kept: Encoding; keptAt?: string; thenFailed?: string }

/** The executables a host has (facts), to know which decoders it can run; none known before facts. */
export function hostTools(h: HostState): ReadonlySet<string> {
  return h.facts.gathered?.tools ?? new Set();
}

/** Pushes the binary (whatever the host has). */
export async function pushBinary(h: HostState, rec: HostRecorder, p: PushInput): Promise<Pushed> {
  const way = pushWay(p.transfer, hostTools(h), p.binary);
  const enc = way.encoding !== 'sftp' && way.prebuilt ? way.encoding : undefined;
  const keptAt = enc && p.keepAt ? p.keepAt(enc) : undefined;
  const kept: Encoding = keptAt && enc ? enc : 'plain';
  const then = p.then?.(kept, keptAt);
  const r = await h.remote().putFile(p.binary.path, p.remotePath, {
    mode: 0o755, sha256: p.binary.sha256,
    ...(enc ? { encoded: { file: p.binary.encoded[enc as Exclude<Encoding, 'plain'>]!.file, encoding: enc, ...(keptAt ? { keepAt: keptAt } : {}) } }
      : { transfer: way.encoding === 'sftp' ? 'sftp' : way.encoding === 'gzip' ? 'gzip' : 'plain' }),
    ...(then ? { then } : {}),
    ...(p.signal ? { signal: p.signal } : {}),
  });
  rec.changed(`${p.what} pushed to ${p.remotePath} (${(r.wireBytes / 1e6).toFixed(1)} MB ${r.transfer}${way.note ? `: ${way.note}` : ''}, ${(r.ms / 1000).toFixed(1)} s)`);
  return { encoding: r.transfer, kept, ...(keptAt ? { keptAt } : {}), ...(r.thenFailed !== undefined ? { thenFailed: r.thenFailed } : {}) };
}

/** Pushes the binary when the host's copy differs (or records that it would, in a dry run). True when it was (would be) pushed. */
export async function pushIfDifferent(h: HostState, rec: HostRecorder, p: PushInput, signal = p.signal): Promise<boolean> {
  if (p.remoteSha256 === p.binary.sha256) {
    rec.skip(`${p.what} up to date`);
    return false;
  }
  if (rec.dryRun) {
    const way = pushWay(p.transfer, hostTools(h), p.binary);
    const enc = way.encoding !== 'sftp' && way.encoding !== 'plain' && way.prebuilt ? p.binary.encoded[way.encoding] : undefined;
    rec.changed(`would push ${p.what} (${((enc?.bytes ?? p.binary.bytes) / 1e6).toFixed(0)} MB ${way.encoding}) to ${p.remotePath}`);
    return true;
  }
  await pushBinary(h, rec, { ...p, ...(signal ? { signal } : {}) });
  return true;
}
