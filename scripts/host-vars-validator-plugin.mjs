// esbuild plugin: replaces src/inventory/host-vars-validator.ts (which compiles the inventory schema with
// ajv when it loads) with ajv's standalone code for the same schema and options, generated now: the bundle
// then holds a plain function and needs only ajv's tiny runtime helpers, not its compiler.
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import { join } from 'node:path';

export function hostVarsValidatorPlugin(root) {
  const require = createRequire(join(root, 'package.json'));
  return {
    name: 'flanprov-host-vars-validator',
    setup(b) {
      b.onLoad({ filter: /[\\/]src[\\/]inventory[\\/]host-vars-validator\.ts$/ }, async () => {
        // the schema module is TypeScript: bundle it on its own and evaluate it to get the schema object
        const out = await build({
          entryPoints: [join(root, 'src/inventory/host-vars-schema.ts')], bundle: true, write: false,
          platform: 'node', format: 'cjs', logLevel: 'silent',
        });
        const mod = { exports: {} };
        new Function('module', 'exports', 'require', out.outputFiles[0].text)(mod, mod.exports, require);
        const { AJV_OPTIONS, hostVarsSchema } = mod.exports;
        const Ajv = require('ajv').default;
        const standaloneCode = require('ajv/dist/standalone').default;
        const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true } });
        const code = standaloneCode(ajv, ajv.compile(hostVarsSchema));
        return {
          loader: 'js',
          resolveDir: root,
          watchFiles: [join(root, 'src/inventory/host-vars-schema.ts')],
          contents: `const m = { exports: {} };\n(function (module, exports) {\n${code}\n})(m, m.exports);\nexport const validateHostVars = m.exports.default ?? m.exports;\n`,
        };
      });
    },
  };
}
