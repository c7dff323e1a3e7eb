import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isCniInvocation, runCni, type PluginIo } from '../../../../src/agent/cni/plugin.js';
import { readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';
import { FakeRunner, MemoryStore, SUBNET_ENV } from './fakes.js';

const ENV = { CNI_CONTAINERID: 'c1', CNI_NETNS: '/run/netns/c1', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' };
const CONF = (v: string) => JSON.stringify({ cniVersion: v, name: 'flannel', type: 'flannel' });

function call(env: NodeJS.ProcessEnv, stdin: string, o: { store?: MemoryStore; runner?: FakeRunner; subnetEnv?: string | null } = {}) {
  let out = '';
  let err = '';
  const io: PluginIo = {
    env, stdin: () => stdin, stdout: (s) => { out += s; }, stderr: (s) => { err += s; },
    deps: {
      store: o.store ?? new MemoryStore(), runner: o.runner ?? new FakeRunner(),
      readFile: () => {
        if (o.subnetEnv === null) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
        return o.subnetEnv ?? SUBNET_ENV;
      },
    },
  };
  const status = runCni(io);
  return { status, out, err, json: out ? JSON.parse(out) as Record<string, unknown> : undefined };
}

test('run as `flannel` (argv[0] of the link) or with CNI_COMMAND: the plugin; otherwise the daemon', () => {
  assert.equal(isCniInvocation('/opt/cni/bin/flannel', {}), true);
  assert.equal(isCniInvocation('flannel', {}), true);
  assert.equal(isCniInvocation('/usr/local/bin/flanneld', { CNI_COMMAND: 'VERSION' }), true);
  assert.equal(isCniInvocation('/usr/local/bin/flanneld', {}), false);
  assert.equal(isCniInvocation('/usr/local/bin/flannel-agent', {}), false);
});

test('ADD then DEL through the process interface: the result on stdout, exit 0; DEL prints nothing', () => {
  const store = new MemoryStore();
  const add = call({ ...ENV, CNI_COMMAND: 'ADD' }, CONF('1.0.0'), { store });
  assert.equal(add.status, 0);
  assert.equal(add.json!.cniVersion, '1.0.0');
  assert.ok(Array.isArray(add.json!.ips));
  const del = call({ ...ENV, CNI_COMMAND: 'DEL' }, CONF('1.0.0'), { store });
  assert.deepEqual([del.status, del.out], [0, '']);
  assert.equal(store.files.size, 0);
});

test('CHECK prints nothing on success', () => {
  const store = new MemoryStore();
  const add = call({ ...ENV, CNI_COMMAND: 'ADD' }, CONF('0.4.0'), { store });
  const chk = call({ ...ENV, CNI_COMMAND: 'CHECK' }, JSON.stringify({ ...JSON.parse(CONF('0.4.0')), prevResult: add.json }), { store });
  assert.deepEqual([chk.status, chk.out], [0, '']);
});

test('errors: the spec\'s document on stdout (cniVersion of the config, code, msg, details), exit 1', () => {
  const r = call({ ...ENV, CNI_COMMAND: 'ADD' }, CONF('0.3.1'), { subnetEnv: null });
  assert.equal(r.status, 1);
  assert.deepEqual(Object.keys(r.json!), ['cniVersion', 'code', 'msg', 'details']);
  assert.equal(r.json!.cniVersion, '0.3.1');
  assert.equal(r.json!.code, 11);
  assert.match(String(r.json!.msg), /^\/run\/flannel\/subnet.env does not exist yet/);
  const env = call({ CNI_COMMAND: 'ADD' }, CONF('0.4.0'));
  assert.deepEqual([env.status, env.json!.code, env.json!.cniVersion], [1, 4, '0.4.0']);
  const bad = call({ ...ENV, CNI_COMMAND: 'ADD' }, '{');
  assert.deepEqual([bad.status, bad.json!.code, bad.json!.cniVersion], [1, 6, '1.0.0']);
  const ver = call({ ...ENV, CNI_COMMAND: 'ADD' }, CONF('0.2.0'));
  assert.deepEqual([ver.status, ver.json!.code], [1, 1]);
});

test('stdin that cannot be read is error 5; an unexpected exception is 199 with its stack, never a crash', () => {
  let out = '';
  const io: PluginIo = { env: { ...ENV, CNI_COMMAND: 'ADD' }, stdin: () => { throw new Error('EIO'); }, stdout: (s) => { out += s; }, stderr: () => undefined };
  assert.equal(runCni(io), 1);
  assert.equal(JSON.parse(out).code, 5);
  out = '';
  const boom: PluginIo = {
    env: { ...ENV, CNI_COMMAND: 'ADD' }, stdin: () => CONF('1.0.0'), stdout: (s) => { out += s; }, stderr: () => undefined,
    deps: { readFile: () => SUBNET_ENV, store: { save: () => { throw new TypeError('boom'); }, load: () => undefined, remove: () => undefined }, runner: new FakeRunner() },
  };
  assert.equal(runCni(boom), 1);
  assert.equal(JSON.parse(out).code, 199);
  assert.match(JSON.parse(out).details, /TypeError: boom/);
});

test('VERSION needs no other variable; run by hand without CNI_COMMAND it says what it is on stderr', () => {
  const v = call({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.3.1"}');
  assert.deepEqual([v.status, v.json], [0, { cniVersion: '0.3.1', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] }]);
  const hand = call({}, '');
  assert.equal(hand.status, 0);
  assert.equal(hand.out, '');
  assert.match(hand.err, /CNI protocol versions supported: 0.3.0, 0.3.1, 0.4.0, 1.0.0/);
});

test('lean: what main.ts loads before it knows it is a plugin call reaches neither etcd nor the daemon (they are imported dynamically)', () => {
  const src = join(__dirname, '..', '..', '..', '..', 'src');
  const seen = new Set<string>();
  const packages = new Set<string>();
  const walk = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    // static imports only (`import type` is erased); dynamic import() is what keeps a module out
    for (const m of text.matchAll(/^\s*import\s+(?!type\b)(?:[^'"]*?\sfrom\s*)?['"]([^'"]+)['"]/gm)) {
      const spec = m[1]!;
      if (spec.startsWith('.')) walk(normalize(join(dirname(file), spec.replace(/\.js$/, '.ts'))));
      else if (!spec.startsWith('node:')) packages.add(spec);
    }
  };
  walk(join(src, 'agent', 'main.ts'));
  const rel = [...seen].map((f) => relative(src, f));
  assert.ok(rel.includes(join('agent', 'cni', 'plugin.ts')));
  assert.deepEqual(rel.filter((f) => f.startsWith(`etcd${sep}`) || f === join('agent', 'daemon.ts')), []);
  assert.deepEqual([...packages].filter((p) => /etcd|grpc|protobuf/.test(p)), []);
});
