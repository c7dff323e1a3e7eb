/**
 * serve-start.sh / serve-stop.sh run by bash against stub systemctl/systemd-run/journalctl: the server is
 * (re)started as a transient unit with serve-file's argv intact; a server that does not start exits
 * SERVE_FAILED_EXIT with systemd's account and the journal's tail; the stop removes what was served.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { BASE_TOOLS, stubBox } from './harness.js';
import { SERVE_FAILED_EXIT, SERVE_MAX_S, SERVE_UNIT, serveStartPart, serveStartScript, serveStopScript } from '../../../../src/remote/serve.js';
import { remoteScripts, remoteScriptUnchecked } from '../../../../src/remote/remote-script.js';
import { fetchPart } from '../../../../src/remote/fetch.js';
import { receiveScript, sha256Of, tempNameFor, UPLOAD_INCOMPLETE_EXIT } from '../../../../src/remote/upload.js';

const box = stubBox({
  systemctl: 'exit 0',
  'systemd-run': '[ -z "$FP_FAIL" ] && exit 0; echo "Job for flanprov-agent-serve.service failed."; exit 1',
  // the peer's download: the body from $FP_BODY, or a refused connection
  curl: '[ -n "$FP_BODY" ] && exec cat "$FP_BODY"; exit 7',
  journalctl: 'printf "serve-file: listen 198.18.1.11:7070: address already in use\\nstopped\\n"',
}, [...BASE_TOOLS, 'sha256sum', 'tee']);
after(() => box.close());

const args = { listen: '198.18.1.11', port: 7070, files: { '/flanneld': '/usr/local/bin/flanneld', '/flanneld.xz': "/run/it's here/flanneld.xz" }, allow: ['198.18.1.12', '198.18.1.13'], idleTimeoutS: 60, removeOnExit: ["/run/it's here/flanneld.xz"] };

test('serve-start.sh: the old server stopped and reset, the new one a transient notify unit bounded in time, argv intact', async () => {
  const r = await box.run(serveStartScript('/usr/local/bin/flanneld', args));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.calls.slice(0, 2), [`systemctl stop ${SERVE_UNIT}`, `systemctl reset-failed ${SERVE_UNIT}`]);
  assert.equal(r.calls[2], `systemd-run --quiet --collect --unit=${SERVE_UNIT} -p Type=notify -p NotifyAccess=all -p RuntimeMaxSec=${SERVE_MAX_S} -- /usr/local/bin/flanneld serve-file --listen=198.18.1.11:7070 --file=/flanneld=/usr/local/bin/flanneld --file=/flanneld.xz=/run/it\\'s\\ here/flanneld.xz --allow=198.18.1.12\\,198.18.1.13 --idle-timeout=60 --remove-on-exit=/run/it\\'s\\ here/flanneld.xz`);
  assert.equal(r.calls.length, 3);
});

test('serve-start.sh: a server that does not start: exit SERVE_FAILED_EXIT, systemd-run\'s words and the journal\'s tail on one line', async () => {
  const r = await box.run(serveStartScript('/usr/local/bin/flanneld', args), { env: { FP_FAIL: '1' } });
  assert.equal(r.code, SERVE_FAILED_EXIT);
  assert.equal(r.stderr.trim(), 'cannot serve the agent to peers: Job for flanprov-agent-serve.service failed. serve-file: listen 198.18.1.11:7070: address already in use stopped');
  assert.ok(r.calls.includes(`journalctl -u ${SERVE_UNIT} -n 3 -o cat`), r.calls.join('\n'));
});

test('serve-stop.sh: the unit stopped and reset, the served directory removed; nothing to stop is fine', async () => {
  const d = join(box.dir, 'serve');
  mkdirSync(d);
  writeFileSync(join(d, 'flanneld.xz'), 'x');
  const r = await box.run(remoteScriptUnchecked('serve-stop', { UNIT: SERVE_UNIT, DIR: d }));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.calls, [`systemctl stop ${SERVE_UNIT}`, `systemctl reset-failed ${SERVE_UNIT}`]);
  assert.equal(existsSync(d), false);
  const fails = stubBox({ systemctl: 'exit 5' });
  try {
    assert.equal((await fails.run(serveStopScript())).code, 0, 'no server is not an error');
  } finally { fails.close(); }
});

test('a peer fetches and then serves in one script: the server starts only once the copy is in place', async () => {
  const body = Buffer.from('AGENT '.repeat(1000));
  writeFileSync(join(box.dir, 'body'), body);
  const path = join(box.dir, 'peer', 'flanneld');
  const t = { path, mode: 0o755, bytes: body.length, sha256: sha256Of(body) };
  const script = () => remoteScripts(
    fetchPart(t, tempNameFor(path), { url: 'http://198.18.1.11:7070/flanneld', direct: true, encoding: 'plain', timeoutS: 10 }),
    serveStartPart(path, { ...args, files: { '/flanneld': path } }),
  );
  const refused = await box.run(script());
  assert.equal(refused.code, UPLOAD_INCOMPLETE_EXIT, refused.stderr);
  assert.equal(refused.calls.some((c) => c.startsWith('systemd-run')), false, 'no server for a copy that did not arrive');
  const r = await box.run(script(), { env: { FP_BODY: join(box.dir, 'body') } });
  assert.equal(r.code, 0, r.stderr);
  assert.ok(readFileSync(path).equals(body));
  assert.match(r.calls.at(-1)!, new RegExp(`^systemd-run .* -- ${path} serve-file `));
});

test('a seed receives its push and then serves in the same exec: the server starts only once the agent is in place', async () => {
  const body = 'AGENT '.repeat(1000);
  const path = join(box.dir, 'seed', 'flanneld');
  const t = { path, mode: 0o755, bytes: body.length, sha256: sha256Of(body) };
  const script = () => receiveScript(t, tempNameFor(path), 'plain', undefined, serveStartPart(path, { ...args, files: { '/flanneld': path } }));
  const short = await box.run(script(), { input: body.slice(0, 100) });
  assert.equal(short.code, UPLOAD_INCOMPLETE_EXIT, short.stderr);
  assert.equal(short.calls.some((c) => c.startsWith('systemd-run')), false, 'no server for a push that did not arrive whole');
  assert.equal(existsSync(path), false);
  const r = await box.run(script(), { input: body });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(path, 'utf8'), body);
  assert.match(r.calls.at(-1)!, new RegExp(`^systemd-run .* -- ${path} serve-file `));
  const noServer = await box.run(script(), { input: body, env: { FP_FAIL: '1' } });
  assert.equal(noServer.code, SERVE_FAILED_EXIT, 'installed, not serving: the caller tells the two apart');
  assert.equal(readFileSync(path, 'utf8'), body);
});
