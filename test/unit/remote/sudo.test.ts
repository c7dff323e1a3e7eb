import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sudoRefusal } from '../../../src/remote/sudo.js';
import { SUDO_BAD_PASSWORD_EXIT } from '../../../src/remote/command.js';
import { ConnectError } from '../../../src/remote/errors.js';
import { ExitCode } from '../../../src/util/errors.js';

const refusal = (code: number, stderr: string) => sudoRefusal({ code, stderr }, 'h1', 'deb', 'root');

test('a wrong become password is an authentication failure (exit 3) naming the host, with sudo\'s own words', () => {
  const e = refusal(SUDO_BAD_PASSWORD_EXIT, 'flanprov: sudo rejected the become password: sudo: 1 incorrect password attempt\n');
  assert.ok(e instanceof ConnectError);
  assert.equal(e.kind, 'auth');
  assert.equal(e.exitCode, ExitCode.UNREACHABLE);
  assert.equal(e.where, 'h1');
  assert.equal(e.message, 'sudo rejected the become password of deb (sudo: 1 incorrect password attempt)');
  assert.match(e.hint!, /ansible_become_password/);
});

test('a user sudo does not allow, and a sudo that wants a password when none was given', () => {
  const e = refusal(SUDO_BAD_PASSWORD_EXIT, 'flanprov: sudo rejected the become password: deb is not in the sudoers file.  This incident will be reported.\n');
  assert.match(e!.message, /^sudo does not let deb run commands as root: deb is not in the sudoers file/);
  const n = refusal(1, 'sudo: a password is required\n');
  assert.equal(n!.message, 'sudo needs a password for deb and none was given');
  assert.match(n!.hint!, /ansible_become_password/);
});

test('a script that fails on its own is not a sudo refusal', () => {
  assert.equal(refusal(1, 'grep: x: No such file or directory\n'), undefined);
  assert.equal(refusal(SUDO_BAD_PASSWORD_EXIT, 'my script exits 97\n'), undefined);
  assert.equal(refusal(0, ''), undefined);
});
