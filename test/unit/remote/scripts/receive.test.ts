/**
 * receive.sh (lib.sh fp_receive) against a logging `rm`: an upload that arrived whole leaves the exit trap
 * nothing to remove (no rm process at all); one that did not removes its temporary file, and only it.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASE_TOOLS, stubBox } from './harness.js';
import { receiveScript, sha256Of, tempNameFor, UPLOAD_INCOMPLETE_EXIT } from '../../../../src/remote/upload.js';

const box = stubBox({ rm: 'exec_real rm "$@"' }, [...BASE_TOOLS, 'sha256sum', 'tee']);
after(() => box.close());

test('receive.sh: whole: in place, no rm run; short: exit UPLOAD_INCOMPLETE_EXIT, its temporary removed, the old file kept', async () => {
  const d = join(box.dir, 'host');
  mkdirSync(d);
  const path = join(d, 'flanneld');
  writeFileSync(path, 'OLD');
  const body = 'NEW AGENT '.repeat(100);
  const t = { path, mode: 0o755, bytes: body.length, sha256: sha256Of(body) };
  const tmp = tempNameFor(path);
  const whole = await box.run(receiveScript(t, tmp, 'plain'), { input: body });
  assert.equal(whole.code, 0, whole.stderr);
  assert.equal(readFileSync(path, 'utf8'), body);
  assert.deepEqual(whole.calls.filter((c) => c.startsWith('rm')), []);
  const short = await box.run(receiveScript({ ...t, sha256: sha256Of('other') }, tempNameFor(path), 'plain'), { input: body.slice(0, 10) });
  assert.equal(short.code, UPLOAD_INCOMPLETE_EXIT);
  assert.match(short.stderr, /incomplete: 10 of 1000 bytes arrived/);
  assert.equal(short.calls.filter((c) => c.startsWith('rm')).length, 1, short.calls.join('\n'));
  assert.equal(readFileSync(path, 'utf8'), body, 'the file from before is untouched');
  assert.deepEqual(readdirSync(d), ['flanneld']);
});
