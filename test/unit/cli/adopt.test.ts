import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connectionVarsOf, parseHostList } from '../../../src/cli/adopt.js';

describe('adopt --hosts', () => {
  it('ADDR, ADDR:PORT, NAME=ADDR[:PORT], [v6]:port', () => {
    assert.deepEqual(parseHostList('10.0.0.1, h2=10.0.0.2:2222,web-3=node3.example,[fd00::1]:22'), [
      { name: '10.0.0.1', address: '10.0.0.1' },
      { name: 'h2', address: '10.0.0.2', port: 2222 },
      { name: 'web-3', address: 'node3.example' },
      { name: 'fd00::1', address: 'fd00::1', port: 22 },
    ]);
  });
  it('bad entries are named', () => {
    assert.throws(() => parseHostList(''), /lists no host/);
    assert.throws(() => parseHostList('a b'), /"a b" is not ADDR/);
    assert.throws(() => parseHostList('h1:70000'), /port 70000/);
    assert.throws(() => parseHostList('h1,h1'), /"h1" is listed twice/);
    assert.throws(() => parseHostList('bad name=1.2.3.4'), /"bad name=1\.2\.3\.4" is not ADDR|not an inventory host name/);
  });
  it('connection variables as the command line gave them', () => {
    const v = connectionVarsOf(parseHostList('h1=10.0.0.1:2200,10.0.0.2'), { user: 'ops', privateKey: '/k/id', sshCommonArgs: '-o UserKnownHostsFile=/k/kh', become: true });
    assert.deepEqual(v.get('h1'), { ansible_host: '10.0.0.1', ansible_port: 2200, ansible_user: 'ops', ansible_ssh_private_key_file: '/k/id', ansible_ssh_common_args: '-o UserKnownHostsFile=/k/kh', ansible_become: true });
    assert.deepEqual(v.get('10.0.0.2'), { ansible_user: 'ops', ansible_ssh_private_key_file: '/k/id', ansible_ssh_common_args: '-o UserKnownHostsFile=/k/kh', ansible_become: true });
  });
});
