// esbuild options of the CLI bundle (dist/flanprov.cjs, scripts/build.mjs) and of its etcd3 chunk
// (dist/etcd3.cjs, built first, beside it); test/unit/cli/bundle.test.ts builds both the same way.
import { join } from 'node:path';
import { etcd3AsChunk, etcd3ChunkOptions } from './etcd3-embed.mjs';
import { remoteScriptsPlugin } from './remote-scripts-plugin.mjs';
import { hostVarsValidatorPlugin } from './host-vars-validator-plugin.mjs';

export { etcd3ChunkOptions };

/**
 * node_modules stay external (the CLI runs from the checkout, next to its node_modules), etcd3 is the chunk.
 * The source map is a file of its own (used with NODE_OPTIONS=--enable-source-maps): inline, it tripled the
 * bundle that every start has to read and scan (1.7 MB against 0.44 MB; `flanprov --version` ~10 ms slower).
 * @param {string} root the checkout
 * @returns {import('esbuild').BuildOptions}
 */
export function cliBuildOptions(root) {
  return {
    entryPoints: [join(root, 'src/cli/main.ts')],
    bundle: true, platform: 'node', target: 'node20', format: 'cjs',
    packages: 'external', sourcemap: 'linked', logLevel: 'warning',
    banner: { js: '#!/usr/bin/env node' },
    // src/remote/scripts/*.sh inline (docs/CONVENTIONS.md "Remote scripts"); the inventory schema precompiled
    plugins: [etcd3AsChunk, remoteScriptsPlugin(root), hostVarsValidatorPlugin(root)],
  };
}
