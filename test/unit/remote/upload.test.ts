import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import {
  installScript, receiveScript, sha256Of, tempNameFor, UPLOAD_INCOMPLETE_EXIT, uploadDirScript, writeFilesScript, type UploadTarget,
} from '../../../src/remote/upload.js';

/** A directory with an "old" file in it, as a host that already runs an older agent has. */
function host() {
  const dir = mkdtempSync(join(tmpdir(), 'fp-upload-'));
  const path = join(dir, 'bin dir', 'flanneld');
  spawnSync('mkdir', ['-p', join(dir, 'bin dir')]);
  writeFileSync(path, 'OLD AGENT');
  return { dir, path, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
const NEW = Buffer.from('NEW AGENT '.repeat(10_000));
const target = (path: string): UploadTarget => ({ path, mode: 0o755, bytes: NEW.length, sha256: sha256Of(NEW) });
const left = (dir: string) => readdirSync(dir).filter((n) => n.includes('flanprov-'));

test('a whole stream is verified and renamed into place with its mode; no temporary file is left', () => {
  const h = host();
  try {
    const tmp = tempNameFor(h.path, 'abc');
    assert.equal(tmp, join(h.dir, 'bin dir', '.flanneld.flanprov-abc'));
    const r = spawnSync('bash', ['-c', receiveScript(target(h.path), tmp, 'plain')], { input: NEW, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(readFileSync(h.path), NEW);
    assert.equal((statSync(h.path).mode & 0o777).toString(8), '755');
    assert.deepEqual(left(join(h.dir, 'bin dir')), []);
    // gzip on the wire, the decoded content is what is checked
    const g = spawnSync('bash', ['-c', receiveScript(target(h.path), tempNameFor(h.path), 'gzip')], { input: gzipSync(NEW), encoding: 'utf8' });
    assert.equal(g.status, 0, g.stderr);
  } finally { h.cleanup(); }
});

test('a stream cut short (closed channel, killed CLI) leaves the old file untouched and no temporary file', () => {
  const h = host();
  try {
    for (const cut of [0, 1, NEW.length / 2, NEW.length - 1]) {
      const r = spawnSync('bash', ['-c', receiveScript(target(h.path), tempNameFor(h.path), 'plain')], { input: NEW.subarray(0, cut), encoding: 'utf8' });
      assert.equal(r.status, UPLOAD_INCOMPLETE_EXIT, `cut at ${cut}`);
      assert.match(r.stderr, new RegExp(`incomplete: ${cut} of ${NEW.length} bytes arrived; the old file is untouched`));
      assert.equal(readFileSync(h.path, 'utf8'), 'OLD AGENT');
      assert.deepEqual(left(join(h.dir, 'bin dir')), []);
    }
    // a truncated gzip stream: the decoder fails
    const gz = gzipSync(NEW);
    const g = spawnSync('bash', ['-c', receiveScript(target(h.path), tempNameFor(h.path), 'gzip')], { input: gz.subarray(0, gz.length / 2), encoding: 'utf8' });
    assert.equal(g.status, UPLOAD_INCOMPLETE_EXIT);
    assert.equal(readFileSync(h.path, 'utf8'), 'OLD AGENT');
  } finally { h.cleanup(); }
});

test('the right length with other bytes is refused (sha256), also for a file SFTP wrote', () => {
  const h = host();
  try {
    const bad = Buffer.from(NEW); bad[100] = 0x41;
    const r = spawnSync('bash', ['-c', receiveScript(target(h.path), tempNameFor(h.path), 'plain')], { input: bad, encoding: 'utf8' });
    assert.equal(r.status, UPLOAD_INCOMPLETE_EXIT);
    assert.match(r.stderr, /corrupted: sha256 [0-9a-f]{64}, expected/);
    assert.equal(readFileSync(h.path, 'utf8'), 'OLD AGENT');
    const tmp = tempNameFor(h.path);
    writeFileSync(tmp, NEW.subarray(0, 10));
    assert.equal(spawnSync('bash', ['-c', installScript(target(h.path), tmp)]).status, UPLOAD_INCOMPLETE_EXIT);
    assert.equal(readFileSync(h.path, 'utf8'), 'OLD AGENT');
    assert.deepEqual(left(join(h.dir, 'bin dir')), []);
    writeFileSync(tmp, NEW);
    assert.equal(spawnSync('bash', ['-c', installScript(target(h.path), tmp)]).status, 0);
    assert.deepEqual(readFileSync(h.path), NEW);
  } finally { h.cleanup(); }
});

test('temporaries an interrupted upload left behind are removed once stale, a fresh one (another run) is kept', () => {
  const h = host();
  try {
    const stale = tempNameFor(h.path, 'stale');
    const fresh = tempNameFor(h.path, 'fresh');
    writeFileSync(stale, 'x'); writeFileSync(fresh, 'y');
    const old = new Date(Date.now() - 3600_000);
    utimesSync(stale, old, old);
    assert.equal(spawnSync('bash', ['-c', receiveScript(target(h.path), tempNameFor(h.path), 'plain')], { input: NEW }).status, 0);
    assert.deepEqual(left(join(h.dir, 'bin dir')), ['.flanneld.flanprov-fresh']);
  } finally { h.cleanup(); }
});

test('before an SFTP upload: the directory is made (spaces kept), stale temporaries go, a fresh one and other files stay', () => {
  const h = host();
  try {
    const path = join(h.dir, 'new dir', 'sub', 'flanneld');
    let r = spawnSync('bash', ['-c', uploadDirScript(path)]);
    assert.equal(r.status, 0, String(r.stderr));
    assert.ok(statSync(join(h.dir, 'new dir', 'sub')).isDirectory());
    const stale = tempNameFor(h.path, 'stale');
    const fresh = tempNameFor(h.path, 'fresh');
    const other = join(h.dir, 'bin dir', '.other.flanprov-old');
    for (const f of [stale, fresh, other]) writeFileSync(f, 'x');
    const old = new Date(Date.now() - 3600_000);
    utimesSync(stale, old, old); utimesSync(other, old, old);
    r = spawnSync('bash', ['-c', uploadDirScript(h.path)]);
    assert.equal(r.status, 0, String(r.stderr));
    assert.deepEqual(left(join(h.dir, 'bin dir')).sort(), ['.flanneld.flanprov-fresh', '.other.flanprov-old']);
    assert.deepEqual(readFileSync(h.path, 'utf8'), 'OLD AGENT');
  } finally { h.cleanup(); }
});

test('small files: each verified and renamed, modes kept, nothing left; a failing write replaces nothing after it', () => {
  const h = host();
  try {
    const a = join(h.dir, 'etc', 'a.conf');
    const b = join(h.dir, 'etc', 'sub', "b'q.env");
    const script = writeFilesScript([{ path: a, mode: 0o644, content: 'A=1\n' }, { path: b, mode: 0o600, content: Buffer.from([0, 1, 2, 255]) }]);
    const r = spawnSync('bash', ['-s'], { input: `{\n${script}\n}\n`, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(readFileSync(a, 'utf8'), 'A=1\n');
    assert.deepEqual([...readFileSync(b)], [0, 1, 2, 255]);
    assert.equal((statSync(b).mode & 0o777).toString(8), '600');
    assert.deepEqual(left(join(h.dir, 'etc')), []);
    // the second file's directory cannot be made: the first one is written, the second not, nothing half-done
    writeFileSync(join(h.dir, 'blocker'), '');
    const r2 = spawnSync('bash', ['-s'], { input: writeFilesScript([{ path: a, mode: 0o644, content: 'A=2\n' }, { path: join(h.dir, 'blocker', 'c'), mode: 0o644, content: 'C' }]), encoding: 'utf8' });
    assert.notEqual(r2.status, 0);
    assert.equal(readFileSync(a, 'utf8'), 'A=2\n');
    assert.deepEqual(left(join(h.dir, 'etc')), []);
  } finally { h.cleanup(); }
});
