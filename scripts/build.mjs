// Build: typecheck, bundle the CLI and the agent with esbuild, then turn the agent bundle into a
// Node single-executable application (dist/flanneld). Works offline: uses the machine's own node.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { copyFileSync, writeFileSync, chmodSync, rmSync, mkdirSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
mkdirSync(dist, { recursive: true });
const t0 = Date.now();
const step = (msg) => console.log(`[build ${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}`);

if (!process.argv.includes('--no-typecheck')) {
  step('typecheck (tsc --noEmit)');
  execFileSync(join(root, 'node_modules/.bin/tsc'), ['--noEmit', '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
}

// CLI (scripts/cli-build-options.mjs): etcd3 first, a chunk of its own that the CLI requires at its first etcd
// client (scripts/etcd3-embed.mjs), then the CLI bundle.
const { cliBuildOptions, etcd3ChunkOptions } = await import('./cli-build-options.mjs');
step('bundle etcd3 for the CLI -> dist/etcd3.cjs');
await build({ ...etcd3ChunkOptions(root), outfile: join(dist, 'etcd3.cjs') });
step('bundle CLI -> dist/flanprov.cjs');
await build({ ...cliBuildOptions(root), outfile: join(dist, 'flanprov.cjs') });
chmodSync(join(dist, 'flanprov.cjs'), 0o755);

// Agent: everything bundled, since the SEA can only require() built-in modules.
{
  step('bundle agent -> dist/flanneld.cjs');
  // No fallback: without these options (embedded etcd protos) the executable would fail on every host.
  const { agentBuildOptions } = await import('./agent-build-options.mjs');
  await build({
    entryPoints: [join(root, 'src/agent/main.ts')],
    outfile: join(dist, 'flanneld.cjs'),
    bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning',
    minify: true, legalComments: 'none',
    ...agentBuildOptions,
  });
  if (!process.argv.includes('--no-sea')) {
    step('single executable -> dist/flanneld');
    const seaConfig = join(dist, 'sea-config.json');
    writeFileSync(seaConfig, JSON.stringify({
      main: join(dist, 'flanneld.cjs'), output: join(dist, 'flanneld.blob'),
      disableExperimentalSEAWarning: true, useCodeCache: true,
    }));
    execFileSync(process.execPath, ['--experimental-sea-config', seaConfig], { stdio: 'inherit' });
    const exe = join(dist, 'flanneld');
    rmSync(exe, { force: true });
    copyFileSync(process.execPath, exe);
    execFileSync(join(root, 'node_modules/.bin/postject'), [exe, 'NODE_SEA_BLOB', join(dist, 'flanneld.blob'),
      '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'], { stdio: ['ignore', 'ignore', 'pipe'] });
    chmodSync(exe, 0o755);
    rmSync(join(dist, 'flanneld.blob'), { force: true });
    if (!process.argv.includes('--no-compress')) {
      step('compressed agent -> dist/flanneld.xz, dist/flanneld.gz, dist/flanneld.json (manifest)');
      const { writeCompressedAgent } = await import('./compress-agent.mjs');
      await writeCompressedAgent(exe, { log: (m) => step(m) });
    } else {
      // a manifest of another build would name artifacts that are not this binary
      for (const f of ['flanneld.json', 'flanneld.xz', 'flanneld.gz', 'flanneld.sha256']) rmSync(join(dist, f), { force: true });
    }
    // postject writes the executable in one large write(), which on current kernels (large folios in the
    // page cache) makes every later run map ~15-20 MB more of the binary into its RSS than the same file
    // written by `cat`/`gzip -dc` (how flanprov installs it) or read back from disk after a reboot. Flush
    // it and drop it from the page cache so local runs and benchmarks see what a host sees.
    const fd = openSync(exe, 'r');
    fsyncSync(fd);
    closeSync(fd);
    execFileSync('dd', [`if=${exe}`, 'iflag=nocache', 'count=0', 'status=none']);
  }
}
step('done');
