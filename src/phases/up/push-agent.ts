/**
 * Phase 5 — Push agent: `dist/flanneld` to every host whose installed copy has another sha256, all hosts at
 * once (bounded by --concurrent-uploads), written to a temporary name and renamed (a running executable
 * cannot be overwritten). The transfer mode (plain stream by default, gzip -1 stream, SFTP) is the
 * inventory's flannel_transfer_compression (docs/transfer.md has the measurements behind the default).
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { Phase } from '../framework/types.js';
import { InvalidInputError } from '../../util/errors.js';
import { agentPath } from '../shared/gather-facts.js';
import { gathered } from '../shared/host-state.js';
import { sha256OfFile } from '../../remote/upload.js';

export interface LocalAgent {
  path: string;
  sha256: string;
  bytes: number;
}

/** dist/flanneld next to the CLI bundle (dist/flanprov.cjs) or of the checkout (running from src/); or $FLANPROV_AGENT. */
export function agentBinaryPath(): string {
  const candidates = [
    process.env.FLANPROV_AGENT,
    join(__dirname, 'flanneld'),
    resolve(__dirname, '../../../dist/flanneld'),
  ].filter((x): x is string => !!x);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new InvalidInputError(`the agent binary is missing (looked at ${candidates.join(', ')})`, undefined, 'run `npm run build` (or set FLANPROV_AGENT=/path/to/flanneld)');
  return found;
}

/**
 * sha256 of the local agent, cached by path, size and mtime (hashing 99 MB costs ~0.3 s, a large part of a
 * no-change run) in ~/.cache/flanprov/agent-sha256.json.
 */
export async function localAgent(): Promise<LocalAgent> {
  const path = agentBinaryPath();
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
      // Keep a few entries: several checkouts (or FLANPROV_AGENT builds) on one machine must not evict each other.
      writeFileSync(cacheFile, JSON.stringify(Object.fromEntries([...Object.entries(cache).filter(([k]) => k !== key).slice(-7), [key, sha]])));
    } catch { /* a read-only home only costs the next run a re-hash */ }
  }
  return { path, sha256: sha, bytes: st.size };
}

export const pushAgentPhase: Phase = {
  title: 'Push agent',
  async dryRun(ctx) {
    const a = await localAgent();
    await ctx.forEachHost(async (h, rec) => {
      if (gathered(h).agent.sha256 === a.sha256) return;
      h.facts.binaryChanged = true;
      rec.changed(`would push the agent (${(a.bytes / 1e6).toFixed(0)} MB) to ${agentPath(h)}`);
    });
  },
  async run(ctx) {
    const a = await localAgent();
    await ctx.forEachHost(async (h, rec) => {
      if (gathered(h).agent.sha256 === a.sha256) {
        rec.skip('agent binary up to date');
        return;
      }
      const r = await h.remote().putFile(a.path, agentPath(h), { mode: 0o755, transfer: h.spec.flannel.transfer, sha256: a.sha256, ...(ctx.options.signal ? { signal: ctx.options.signal } : {}) });
      h.facts.binaryChanged = true;
      rec.changed(`agent pushed to ${agentPath(h)} (${(r.wireBytes / 1e6).toFixed(1)} MB ${r.transfer}, ${(r.ms / 1000).toFixed(1)} s)`);
    }, { limit: 'uploads' });
  },
};
