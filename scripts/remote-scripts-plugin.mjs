// esbuild plugin: replaces src/remote/script-sources.ts (which reads src/remote/scripts/*.sh from disk
// under tsx) with a module that holds every script inline, so the bundle needs no file beside it.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export function remoteScriptsPlugin(root) {
  const dir = join(root, 'src/remote/scripts');
  return {
    name: 'flanprov-remote-scripts',
    setup(b) {
      b.onLoad({ filter: /[\\/]src[\\/]remote[\\/]script-sources\.ts$/ }, () => {
        const texts = {};
        for (const f of readdirSync(dir).filter((n) => n.endsWith('.sh')).sort()) texts[f.slice(0, -3)] = readFileSync(join(dir, f), 'utf8');
        return {
          loader: 'js',
          watchFiles: Object.keys(texts).map((n) => join(dir, `${n}.sh`)),
          contents: `const TEXTS = ${JSON.stringify(texts)};
export function scriptSource(name) {
  if (!Object.prototype.hasOwnProperty.call(TEXTS, name)) throw new Error('no remote script ' + name + ' in this build');
  return TEXTS[name];
}
`,
        };
      });
    },
  };
}
