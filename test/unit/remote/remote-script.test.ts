import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from 'esbuild';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { assignments, declaredParams, remoteScripts, remoteScriptUnchecked, scriptPartUnchecked } from '../../../src/remote/remote-script.js';
import { parseSections } from '../../../src/remote/sections.js';
import { stubBox } from './scripts/harness.js';

const ROOT = join(__dirname, '..', '..', '..');

test('declared parameters: names, lists', () => {
  assert.deepEqual(declaredParams('# x\n# params: A B_2 LIST[]\nbody'), [{ name: 'A', list: false }, { name: 'B_2', list: false }, { name: 'LIST', list: true }]);
  assert.deepEqual(declaredParams('no params'), []);
  assert.throws(() => declaredParams('# params: a-b'), /bad parameter name/);
});

test('assignments: every value quoted, lists as arrays; missing, unknown and mistyped parameters refused', () => {
  const d = declaredParams('# params: P N L[] E[]');
  assert.equal(assignments('t', d, { P: "it's $(x)", N: 8471, L: ['a b', "c'd"], E: [] }), `P='it'\\''s $(x)'\nN='8471'\nL=('a b' 'c'\\''d')\nE=()`);
  assert.throws(() => assignments('t', d, { P: '', N: 1, L: [] }), /remote script t: parameter E missing/);
  assert.throws(() => assignments('t', d, { P: '', N: 1, L: [], E: [], X: 1 }), /unknown parameter\(s\) X/);
  assert.throws(() => assignments('t', d, { P: [], N: 1, L: [], E: [] }), /P must be a single value/);
  assert.throws(() => assignments('t', d, { P: '', N: 1, L: 'x', E: [] }), /L must be a list/);
});

test('a value reaches the script as the exact string, whatever it holds', async () => {
  const box = stubBox({});
  try {
    const odd = ["it's", '$(touch /tmp/sfp-pwned)', 'a\nb', '`x`', '"q"', '\\'];
    // facts.sh is the carrier: its PEERS go to `ip -batch` (not present here), FILES to file sections
    const r = await box.run(remoteScriptUnchecked('facts', { AGENT_PATH: odd[1]!, AGENT_SHA_CACHE: '/nonexistent/c', HEALTHZ_PORT: 1, ETCD_TIMEOUT: 1, DAEMON_JSON: '/nonexistent/daemon.json', FILES: odd, PEERS: [], ETCD: [], CNI_LINK: '', CNI_DIRS: [], CNI_PLUGINS: [], CNI_CONF_DIR: '', CNI_BRIDGE: '', PROBE_KIND: '', PROBE_NAME: '', PROBE_IMAGE: '', PROBE_NETWORK: '', PROBE_NEEDS: [] }));
    assert.equal(r.code, 0, r.stderr);
    const files = parseSections(r.stdout).filter((s) => s.name === 'file').map((s) => s.arg);
    // a file section's name is one line: the name with a newline shows up as its first line
    assert.deepEqual(files, odd.map((o) => o.split('\n')[0]));
    assert.equal(existsSync('/tmp/sfp-pwned'), false, 'a value is never run');
  } finally {
    box.close();
  }
});

test('bundled: the build inlines every script (scripts/remote-scripts-plugin.mjs)', async () => {
  const { remoteScriptsPlugin } = (await import(join(ROOT, 'scripts', 'remote-scripts-plugin.mjs'))) as { remoteScriptsPlugin(root: string): import('esbuild').Plugin };
  const out = await build({
    stdin: { contents: "export { scriptSource } from './src/remote/script-sources.ts';", resolveDir: ROOT, loader: 'ts' },
    bundle: true, write: false, platform: 'node', format: 'cjs', logLevel: 'silent', plugins: [remoteScriptsPlugin(ROOT)],
  });
  const code = out.outputFiles[0]!.text;
  assert.doesNotMatch(code, /readFileSync/, 'no file read at run time');
  const mod = { exports: {} as { scriptSource(n: string): string } };
  new Function('module', 'exports', 'require', code)(mod, mod.exports, require);
  for (const n of ['lib', 'facts']) assert.equal(mod.exports.scriptSource(n), readFileSync(join(ROOT, 'src', 'remote', 'scripts', `${n}.sh`), 'utf8'));
  assert.throws(() => mod.exports.scriptSource('nope'), /no remote script nope/);
});

test('several scripts as one: lib.sh once, each part with its own parameters (the same names too), in order', async () => {
  const lib = readFileSync(join(ROOT, 'src', 'remote', 'scripts', 'lib.sh'), 'utf8');
  const text = remoteScripts(scriptPartUnchecked('read-file', { FILE: join(ROOT, 'package.json') }), scriptPartUnchecked('read-file', { FILE: join(ROOT, 'tsconfig.json') }));
  assert.equal(text.split(lib).length - 1, 1, 'lib.sh sent once');
  const box = stubBox({});
  try {
    const r = await box.run(text);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, ['package.json', 'tsconfig.json'].map((f) => readFileSync(join(ROOT, f)).toString('base64')).join(''));
  } finally {
    box.close();
  }
});
