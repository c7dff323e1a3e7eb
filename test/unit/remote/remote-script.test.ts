import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from 'esbuild';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { assignments, declaredParams, libChunks, libFor, remoteScripts, remoteScriptUnchecked, scriptPartUnchecked } from '../../../src/remote/remote-script.js';
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

test('several scripts as one: what they need of lib.sh once, each part with its own parameters (the same names too), in order', async () => {
  const text = remoteScripts(scriptPartUnchecked('read-file', { FILE: join(ROOT, 'package.json') }), scriptPartUnchecked('route-get', { PEERS: ['1.2.3.4'] }),
    scriptPartUnchecked('read-file', { FILE: join(ROOT, 'tsconfig.json') }));
  assert.equal(text.split('\nfp_routegets() {').length - 1, 1, 'fp_routegets defined once');
  assert.equal(text.match(/^sec\(\) \{/gm)?.length, 1, 'sec (which fp_routegets calls) defined once');
  assert.doesNotMatch(text, /fp_receive\(\)/, 'what no part calls is not sent');
  const box = stubBox({ ip: 'cat > /dev/null' });
  try {
    const r = await box.run(text);
    assert.equal(r.code, 0, r.stderr);
    const b64 = (f: string): string => readFileSync(join(ROOT, f)).toString('base64');
    assert.equal(r.stdout, `${b64('package.json')}\n::fp:: routegets\n${b64('tsconfig.json')}`);
  } finally {
    box.close();
  }
});

/** bash's own reading of a text: the functions it defines, each with its body as bash prints it (no comments). */
function bashFunctions(text: string): Map<string, string> {
  const out = execFileSync('bash', ['--noprofile', '--norc', '-c', `${text}\ndeclare -f`], { encoding: 'utf8' });
  const fns = new Map<string, string>();
  for (const m of out.matchAll(/^([A-Za-z_][A-Za-z0-9_]*) \(\) \n\{ \n([\s\S]*?)\n\}$/gm)) fns.set(m[1]!, m[2]!);
  return fns;
}

test('lib.sh as sent: every lib function a script calls, and every one those call, is defined; the rest is left out', () => {
  const all = bashFunctions(readFileSync(join(ROOT, 'src', 'remote', 'scripts', 'lib.sh'), 'utf8'));
  assert.ok(all.size > 20 && all.has('fp_bg') && all.has('sec'), [...all.keys()].join(' '));
  const calls = (code: string): string[] => [...all.keys()].filter((f) => new RegExp(`(^|[^A-Za-z0-9_])${f}([^A-Za-z0-9_]|$)`, 'm').test(code));
  const dir = join(ROOT, 'src', 'remote', 'scripts');
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.sh') && n !== 'lib.sh')) {
    const body = readFileSync(join(dir, f), 'utf8');
    const sent = libFor(body);
    const got = bashFunctions(sent);
    // what bash itself reads in each sent function (comments gone) must be there too: the closure
    const need = new Set(calls(body.split('\n').filter((l) => !/^\s*#/.test(l)).join('\n')));
    for (const fn of [...need]) for (const c of calls(all.get(fn) ?? '')) need.add(c);
    for (const fn of need) assert.ok(got.has(fn), `${f}: ${fn} is called but not sent`);
    for (const [fn, b] of got) assert.equal(b, all.get(fn), `${f}: ${fn} sent as in lib.sh`);
  }
  // variables lib.sh functions rely on come with them
  assert.match(libFor('fp_bg x'), /^fp_bg_n=0$/m);
  assert.match(libFor('fp_tmpdir x'), /^fp_cleanup_paths=\(\)$/m);
  assert.equal(libFor('echo hi'), '');
});

test('lib chunks: one-line and multi-line functions, their variables, comment lines dropped but shellcheck directives kept', () => {
  const c = libChunks('# about a\na() { echo a; }\n# about b\nB_V=1\nb() {\n  # inside\n  # shellcheck disable=SC2086 # why\n  a $B_V\n}\n');
  assert.deepEqual(c.map((x) => x.names), [['a'], ['B_V', 'b']]);
  assert.equal(c[1]!.text, 'B_V=1\nb() {\n  # shellcheck disable=SC2086 # why\n  a $B_V\n}');
  assert.throws(() => libChunks('a() {\n  echo\n'), /closing/);
});
