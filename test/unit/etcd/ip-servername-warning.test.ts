import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { isIpServernameWarning } from '../../../src/etcd/ip-servername-warning.js';

describe('dropIpServernameWarning', () => {
  it('recognises DEP0123 in every emitWarning form and nothing else', () => {
    assert.equal(isIpServernameWarning('x', 'DeprecationWarning', 'DEP0123'), true);
    assert.equal(isIpServernameWarning('x', { type: 'DeprecationWarning', code: 'DEP0123' }, undefined), true);
    assert.equal(isIpServernameWarning(Object.assign(new Error('x'), { code: 'DEP0123' }), undefined, undefined), true);
    assert.equal(isIpServernameWarning('x', 'DeprecationWarning', 'DEP0005'), false);
    assert.equal(isIpServernameWarning('x', undefined, undefined), false);
  });

  it('a TLS connection with an IP servername prints no DEP0123 (it does without); other warnings still print', () => {
    const mod = join(__dirname, '..', '..', '..', 'src', 'etcd', 'ip-servername-warning.ts');
    const stderr = (drop: boolean): string => spawnSync(process.execPath, ['--import', 'tsx', '-e', `
      ${drop ? `require(${JSON.stringify(mod)}).dropIpServernameWarning();` : ''}
      require('node:tls').connect({ host: '127.0.0.1', port: 9, servername: '127.0.0.1' }).on('error', () => {});
      process.emitWarning('other warning', 'Warning', 'FLANPROVTEST');
    `], { encoding: 'utf8' }).stderr;
    assert.match(stderr(false), /DEP0123/);
    const quiet = stderr(true);
    assert.doesNotMatch(quiet, /DEP0123/, quiet);
    assert.match(quiet, /other warning/, quiet);
  });
});
