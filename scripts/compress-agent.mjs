// The compressed agent (issue 12.1, imported by scripts/build.mjs): dist/flanneld.xz and dist/flanneld.gz,
// compressed once at build time so that no run of flanprov spends CPU on it, plus dist/flanneld.json (the
// manifest: the plain binary's length and sha256, which every host checks after decoding, and each encoding's
// file and length) and dist/flanneld.sha256 (`sha256sum -c` format, for a mirror: flannel_agent_source url).
// docs/transfer.md has the measurements behind the codecs and levels.
//
// Compressing 99.7 MB with xz costs ~60 s of CPU, and a build changes only a few MiB of the executable (the
// injected blob and the program headers; the Node runtime around them stays byte for byte the same). So the
// file is compressed in fixed blocks, each an independent xz stream / gzip member, cached by the block's
// sha256 under ~/.cache/flanprov/agent-blocks (outside the checkout: `npm ci` and `git clean` keep it, and
// worktrees share it); the artifact is their concatenation, which `xz -dc` and `gzip -dc` decode as one
// stream. A rebuild recompresses only the blocks that changed.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { basename, join } from 'node:path';

/**
 * 4 MiB: xz output 4 % larger than one stream of the whole file (24.7 against 23.8 MB; 1 MiB blocks: +8 %),
 * and a rebuild changes ~3 of the 24 blocks (docs/transfer.md).
 */
export const BLOCK_BYTES = 4 << 20;

/**
 * The encodings written, in the order a host prefers them (the CLI reads the names from the manifest); `id`
 * names the compressor and its settings in the block cache.
 */
export const ENCODINGS = [
  { name: 'xz', ext: 'xz', id: 'xz-6', compress: (block) => runFilter('xz', ['-6', '-c', '-T1', '-q'], block) },
  // GNU gzip, not zlib: 3 % smaller at -9 on this file (34.4 against 35.4 MB)
  { name: 'gzip', ext: 'gz', id: 'gnu-gzip-9', compress: (block) => runFilter('gzip', ['-9', '-c', '-n'], block) },
];

/** Runs `cmd args` with `input` on stdin; resolves to its stdout. */
export function runFilter(cmd, args, input) {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out = [];
    const err = [];
    p.stdout.on('data', (d) => out.push(d));
    p.stderr.on('data', (d) => err.push(d));
    p.on('error', (e) => reject(new Error(`${cmd}: ${e.message}${e.code === 'ENOENT' ? ' (install xz-utils: scripts/install-deps.sh)' : ''}`)));
    p.on('close', (code) => (code === 0 ? resolve(Buffer.concat(out)) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${Buffer.concat(err).toString().trim()}`))));
    p.stdin.on('error', () => undefined);
    p.stdin.end(input);
  });
}

/** The block cache: the user's cache directory (XDG_CACHE_HOME), bounded to CACHE_MAX_BYTES. */
export const CACHE_DIR = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'flanprov', 'agent-blocks');
/** About five builds' worth of blocks (xz + gzip of one build: ~60 MB), least recently used go first. */
const CACHE_MAX_BYTES = 300 << 20;

const sha256 = (b) => createHash('sha256').update(b).digest('hex');

/** Runs the jobs, at most `n` at once; resolves to their results in order. */
async function pool(jobs, n) {
  const results = new Array(jobs.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, jobs.length) }, async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]();
    }
  }));
  return results;
}

/**
 * Writes `<exe>.xz`, `<exe>.gz`, `<exe>.json` and `<exe>.sha256`; every artifact is decoded again with the
 * tool a host uses (`xz -dc`, `gzip -dc`) and checked against the binary before it is kept.
 * Returns the manifest.
 */
export async function writeCompressedAgent(exe, { cacheDir = CACHE_DIR, log = () => undefined, blockBytes = BLOCK_BYTES } = {}) {
  const plain = readFileSync(exe);
  const st = statSync(exe);
  const plainSha = sha256(plain);
  mkdirSync(cacheDir, { recursive: true });
  const blocks = [];
  for (let off = 0; off < plain.length; off += blockBytes) blocks.push(plain.subarray(off, Math.min(off + blockBytes, plain.length)));
  const blockShas = blocks.map(sha256);
  const used = new Set();
  const manifest = { file: basename(exe), bytes: plain.length, sha256: plainSha, mtimeMs: st.mtimeMs, blockBytes, encodings: {} };
  for (const enc of ENCODINGS) {
    let fresh = 0;
    const t0 = Date.now();
    const parts = await pool(blocks.map((block, i) => async () => {
      const key = `${enc.id}-${blockBytes}-${blockShas[i]}`;
      used.add(key);
      const cached = join(cacheDir, key);
      if (existsSync(cached)) {
        const now = new Date();
        utimesSync(cached, now, now); // recently used: kept by the eviction below
        return readFileSync(cached);
      }
      fresh++;
      const z = await enc.compress(block);
      writeFileSync(`${cached}.tmp`, z);
      renameSync(`${cached}.tmp`, cached);
      return z;
    }), availableParallelism());
    const out = `${exe}.${enc.ext}`;
    const body = Buffer.concat(parts);
    const decoded = await runFilter(enc.name, ['-dc'], body);
    if (decoded.length !== plain.length || sha256(decoded) !== plainSha) throw new Error(`${out}: decoding it with ${enc.name} -dc does not give ${exe} back`);
    writeFileSync(`${out}.tmp`, body);
    renameSync(`${out}.tmp`, out);
    manifest.encodings[enc.name] = { file: basename(out), bytes: body.length };
    log(`${basename(out)}: ${(body.length / 1e6).toFixed(1)} MB (${fresh} of ${blocks.length} blocks compressed, the rest cached; ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
  evict(cacheDir, used);
  writeFileSync(`${exe}.json.tmp`, `${JSON.stringify(manifest, null, 2)}\n`);
  renameSync(`${exe}.json.tmp`, `${exe}.json`);
  writeFileSync(`${exe}.sha256`, `${plainSha}  ${basename(exe)}\n`);
  return manifest;
}

/** Removes the least recently used blocks beyond CACHE_MAX_BYTES, never one this build used (and leftover .tmp files). */
function evict(cacheDir, used) {
  const files = readdirSync(cacheDir).map((f) => {
    const st = statSync(join(cacheDir, f));
    return { f, size: st.size, mtimeMs: st.mtimeMs };
  }).sort((a, b) => b.mtimeMs - a.mtimeMs);
  let total = 0;
  for (const x of files) {
    total += x.size;
    if (!used.has(x.f) && (total > CACHE_MAX_BYTES || x.f.endsWith('.tmp'))) rmSync(join(cacheDir, x.f), { force: true });
  }
}
