/**
 * The build's precompiled inventory validator (scripts/host-vars-validator-plugin.mjs) is the same function
 * as the one ajv compiles under tsx: same verdicts, same errors, for valid and broken host variables.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from 'esbuild';
import { join } from 'node:path';
import type { ValidateFunction } from 'ajv';
import { validateHostVars } from '../../../src/inventory/host-vars-validator.js';

const ROOT = join(__dirname, '..', '..', '..');

test('bundled: the validator is ajv standalone code (no compiler at start-up) and agrees with ajv', async () => {
  const { hostVarsValidatorPlugin } = (await import(join(ROOT, 'scripts', 'host-vars-validator-plugin.mjs'))) as { hostVarsValidatorPlugin(root: string): import('esbuild').Plugin };
  const out = await build({
    stdin: { contents: "export { validateHostVars } from './src/inventory/host-vars-validator.ts';", resolveDir: ROOT, loader: 'ts' },
    bundle: true, write: false, platform: 'node', format: 'cjs', logLevel: 'silent', packages: 'external', plugins: [hostVarsValidatorPlugin(ROOT)],
  });
  const code = out.outputFiles[0]!.text;
  assert.doesNotMatch(code, /require\("ajv"\)|\.compile\(/, 'no ajv compiler in the bundle');
  const mod = { exports: {} as { validateHostVars: ValidateFunction } };
  new Function('module', 'exports', 'require', code)(mod, mod.exports, require);
  const bundled = mod.exports.validateHostVars;
  const cases: Record<string, unknown>[] = [
    {},
    { ansible_host: '198.18.0.11', flannel_network: '10.244.0.0/16', flannel_backend: 'vxlan', flannel_iface: ['eth0', '/^en/'] },
    { flannel_vni: 'x', flannel_port: 70000, flannel_network: '10.244.0.0/33', flannel_backend: 'udp', ansible_user: '' },
    { flannel_docker: 'sometimes', flannel_transfer_compression: 'zstd', flannel_bin_dir: 'usr/bin', my_own_var: [1, 2] },
  ];
  for (const c of cases) {
    const want = validateHostVars(c);
    const wantErrors = validateHostVars.errors;
    assert.equal(bundled(c), want, JSON.stringify(c));
    assert.deepEqual(bundled.errors, wantErrors, JSON.stringify(c));
  }
  assert.equal(bundled(cases[2]!), false);
  assert.ok((bundled.errors?.length ?? 0) >= 5, 'allErrors: every broken variable reported');
});
