import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSshArgs, parseJumpSpec, shellSplit } from '../../../src/inventory/ssh-args.js';

test('shellSplit handles quotes and escapes', () => {
  assert.deepEqual(shellSplit(`-o 'ProxyJump=a@b' -o "UserKnownHostsFile=/x y" a\\ b`), ['-o', 'ProxyJump=a@b', '-o', 'UserKnownHostsFile=/x y', 'a b']);
});

test('-o forms, -J, -i, -p, -l; first value wins; tuning options ignored', () => {
  const a = parseSshArgs('-oProxyJump=j1 -o ProxyJump=j2 -J j3 -o Port 2222 -p 1 -i ~/k -l bob -o ControlMaster=auto -o StrictHostKeyChecking=no -o ConnectTimeout=7 -C');
  assert.deepEqual(a.proxyJump, [{ host: 'j1' }]);
  assert.equal(a.port, 2222);
  assert.equal(a.identityFile, '~/k');
  assert.equal(a.user, 'bob');
  assert.equal(a.strictHostKeyChecking, 'no');
  assert.equal(a.connectTimeoutSec, 7);
  assert.deepEqual(a.ignored, ['-o ControlMaster=auto', '-C']);
});

test('jump specs: users, ports, IPv6, chains, none', () => {
  assert.deepEqual(parseJumpSpec('ops@[fd00::1]:2200'), { host: 'fd00::1', port: 2200, user: 'ops' });
  assert.deepEqual(parseJumpSpec('ssh://a@b:23'), { host: 'b', port: 23, user: 'a' });
  assert.deepEqual(parseSshArgs('-J a@b:2,c').proxyJump, [{ host: 'b', port: 2, user: 'a' }, { host: 'c' }]);
  assert.deepEqual(parseSshArgs('-o ProxyJump=none').proxyJump, []);
  assert.throws(() => parseJumpSpec('a@b:99999'), /bad port/);
});

test('bad input is refused with a reason', () => {
  assert.throws(() => parseSshArgs('-o StrictHostKeyChecking=maybe'), /not yes, no, accept-new or ask/);
  assert.throws(() => parseSshArgs('-o ProxyCommand=nc'), /ProxyCommand is not supported/);
  assert.throws(() => parseSshArgs("-o 'ProxyJump=a"), /unterminated/);
  assert.throws(() => parseSshArgs('--frobnicate'), /unsupported ssh argument/);
  assert.equal(parseSshArgs('-o StrictHostKeyChecking=ask').strictHostKeyChecking, 'yes');
  assert.equal(parseSshArgs('-o StrictHostKeyChecking=accept-new').strictHostKeyChecking, 'accept-new');
  assert.deepEqual(parseSshArgs('-o UserKnownHostsFile="/a /b"').knownHostsFiles, ['/a', '/b']);
  assert.equal(parseSshArgs('-o HashKnownHosts=yes -o HostKeyAlias=k').hashKnownHosts, true);
  assert.throws(() => parseSshArgs('-o HashKnownHosts=maybe'), /HashKnownHosts: "maybe" is not yes or no/);
});
