import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { LocalRemoteHost } from '../../../src/remote/local-host.js';
import { StepFailedError } from '../../../src/util/errors.js';
import { hostSpec } from '../phases/shared/fixtures.js';

const me = userInfo().username;
const host = (): LocalRemoteHost => new LocalRemoteHost('local1', { ...hostSpec('local1').connection, transport: 'local', user: me, becomeUser: me }, me);

test('ansible_connection local: scripts, input, env, exit codes, run on this machine', async () => {
  const h = host();
  const r = await h.run('echo "$FOO:$((1+2))"; echo err >&2; exit 3', { env: { FOO: "it's" } });
  assert.deepEqual([r.stdout, r.stderr, r.code], ["it's:3\n", 'err\n', 3]);
  await assert.rejects(h.runChecked('echo boom >&2; exit 1', { what: 'probe' }), (e: unknown) => e instanceof StepFailedError && /probe failed \(exit 1\):\n\s+boom/.test(e.message));
  await h.close();
});

test('local putFile is verified and atomic with the mode set', async () => {
  const h = host();
  const dir = mkdtempSync(join(tmpdir(), 'flanprov-local-'));
  const target = join(dir, 'sub', 'file.bin');
  const data = Buffer.from('payload\n');
  const res = await h.putFile(data, target, { mode: 0o600 });
  assert.equal(res.bytes, data.length);
  assert.deepEqual(readFileSync(target), data);
  assert.equal(statSync(target).mode & 0o777, 0o600);
  assert.equal((await h.run(`sha256sum ${target}`)).stdout.slice(0, 64), createHash('sha256').update(data).digest('hex'));
  await assert.rejects(h.putFile(data, target, { mode: 0o600, sha256: '0'.repeat(64) }), /corrupted: sha256 .* the old file is untouched/);
  assert.deepEqual(readFileSync(target), data);
  await h.close();
});

test('a local tunnel relays to the target', async () => {
  const srv = createServer((s) => s.end('hello'));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const h = host();
  const t = await h.tunnel('127.0.0.1', (srv.address() as { port: number }).port);
  const got = await new Promise<string>((resolve, reject) => {
    const c = connect(t.port, '127.0.0.1');
    let s = '';
    c.on('data', (d: Buffer) => { s += d; });
    c.on('end', () => resolve(s));
    c.on('error', reject);
  });
  assert.equal(got, 'hello');
  await t.close();
  await h.close();
  srv.close();
});

test('a local session: lines out, input in, ends with its input', async () => {
  const h = host();
  const s = await h.openSession('echo ready; while IFS= read -r l; do echo "got $l"; done; echo bye');
  assert.equal(await s.nextLine(), 'ready');
  s.write('one\n');
  assert.equal(await s.nextLine(), 'got one');
  s.end();
  assert.equal(await s.nextLine(), 'bye');
  assert.equal(await s.nextLine(), undefined);
  assert.equal(await s.exited, 0);
  await h.close();
});
