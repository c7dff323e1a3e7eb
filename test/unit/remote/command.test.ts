import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, chmodSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildCommand, envPrelude, scriptCommand, shq, wholeScript, SUDO_BAD_PASSWORD_EXIT } from '../../../src/remote/command.js';

const asUser = { loginUser: 'deb', becomeUser: 'root', sudo: true, hasPassword: false };

test('no sudo for root, sudo -n without a password', () => {
  assert.deepEqual(scriptCommand({ ...asUser, loginUser: 'root' }), { command: 'bash --noprofile --norc -s', stdinPrefix: '' });
  assert.deepEqual(scriptCommand({ ...asUser, sudo: false }), { command: 'bash --noprofile --norc -s', stdinPrefix: '' });
  assert.deepEqual(scriptCommand(asUser), { command: "sudo -n -u 'root' -- bash --noprofile --norc -s", stdinPrefix: '' });
});

test('a sudo password goes on stdin only, never into the command line', () => {
  const c = scriptCommand({ ...asUser, hasPassword: true }, "pa ss'word");
  assert.equal(c.stdinPrefix, "pa ss'word\n");
  assert.ok(!c.command.includes('pa ss'), c.command);
  assert.match(c.command, /sudo -k -S -p /);
});

/**
 * The wrapper's stdin plumbing, run locally with a fake `sudo` on PATH that checks -S passwords like sudo
 * does (one line from stdin, 3 tries) and runs the command with the rest of stdin.
 */
test('sudo wrapper: right password runs the script with the rest of stdin; wrong password fails cleanly', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fp-sudo-'));
  try {
    writeFileSync(join(dir, 'sudo'), `#!/bin/bash
# fake sudo: -n fails (a password is required) unless NOPASSWD=1; -S reads the password line from stdin
args=(); S=0; N=0
while [ $# -gt 0 ]; do case "$1" in -n) N=1;; -S) S=1;; -k) ;; -p) shift;; -u) shift;; --) shift; break;; *) break;; esac; shift; done
if [ "$N" = 1 ]; then [ "$NOPASSWD" = 1 ] && exec "$@"; echo 'sudo: a password is required' >&2; exit 1; fi
for i in 1 2 3; do
  IFS= read -r pw || exit 1
  [ "$pw" = "$GOOD" ] && exec "$@"
  echo 'Sorry, try again.' >&2
done
exit 1
`);
    chmodSync(join(dir, 'sudo'), 0o755);
    const env = { ...process.env, PATH: `${dir}:${process.env.PATH}`, GOOD: 'right pw' };
    const run = (pw: string, script: string, extra: NodeJS.ProcessEnv = {}) => {
      const c = scriptCommand({ ...asUser, hasPassword: true }, pw);
      return spawnSync('sh', ['-c', c.command], { input: c.stdinPrefix + script, env: { ...env, ...extra }, encoding: 'utf8' });
    };
    const ok = run('right pw', 'echo "ran as script"; read -r x || true; echo "next=$x"\n');
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /ran as script/);
    const bad = run('wrong', 'echo SHOULD-NOT-RUN\n');
    assert.equal(bad.status, SUDO_BAD_PASSWORD_EXIT);
    assert.doesNotMatch(bad.stdout, /SHOULD-NOT-RUN/);
    assert.match(bad.stderr, /sudo rejected the become password: Sorry, try again\./); // sudo's last line passed on
    const nopw = run('whatever', 'echo nopasswd-ok\n', { NOPASSWD: '1' });
    assert.equal(nopw.stdout, 'nopasswd-ok\n');
    // input after the password reaches the command (runWithInput)
    const c = buildCommand(`bash --noprofile --norc -c ${shq('tr a-z A-Z')}`, { ...asUser, hasPassword: true }, 'right pw');
    const r = spawnSync('sh', ['-c', c.command], { input: `${c.stdinPrefix}hello\n`, env, encoding: 'utf8' });
    assert.equal(r.stdout, 'HELLO\n');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('env prelude quotes; a whole script runs nothing when cut short', () => {
  assert.equal(execFileSync('bash', ['-c', `${envPrelude({ A: "x'y $z" })}echo "$A"`], { encoding: 'utf8' }), "x'y $z\n");
  assert.throws(() => envPrelude({ 'A-B': '1' }), /bad environment variable name/);
  const dir = mkdtempSync(join(tmpdir(), 'fp-whole-'));
  try {
    const script = wholeScript(`touch ${dir}/first\necho then\ntouch ${dir}/second\n`);
    const cut = script.slice(0, script.indexOf('touch', script.indexOf('then')));
    const r = spawnSync('bash', ['-s'], { input: cut, encoding: 'utf8' });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /syntax error|unexpected end of file/);
    assert.equal(existsSync(join(dir, 'first')), false, 'the first half did not run');
    assert.equal(spawnSync('bash', ['-s'], { input: script }).status, 0);
    assert.equal(existsSync(join(dir, 'second')), true);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});
