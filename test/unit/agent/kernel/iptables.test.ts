import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapText, forwardRules, masqRules, parseSave, removeText, tableIsCurrent, wantedRules } from '../../../../src/agent/kernel/iptables.js';
import { parseCidr } from '../../../../src/network/ipv4.js';

const N = parseCidr('10.244.0.0/16')!;
const S = parseCidr('10.244.3.0/24')!;

describe('iptables rule text', () => {
  it('masq rules are flannel\'s, in order, with --random-fully only when asked', () => {
    const m = masqRules(N, S, true);
    assert.equal(m.jump, '-m comment --comment "flanneld masq" -j FLANNEL-POSTRTG');
    assert.deepEqual(m.rules, [
      '-m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN',
      '-s 10.244.3.0/24 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j RETURN',
      '-s 10.244.0.0/16 -d 10.244.3.0/24 -m comment --comment "flanneld masq" -j RETURN',
      '! -s 10.244.0.0/16 -d 10.244.3.0/24 -m comment --comment "flanneld masq" -j RETURN',
      '-s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
      '! -s 10.244.0.0/16 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
    ]);
    assert.ok(!masqRules(N, S, false).rules.some((r) => r.includes('random-fully')));
  });
  it('forward rules accept to and from the Network', () => {
    const f = forwardRules(N);
    assert.equal(f.table, 'filter');
    assert.deepEqual(f.rules, ['-s 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT', '-d 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT']);
  });
  it('only the enabled tables are wanted', () => {
    assert.deepEqual(wantedRules({ network: N, subnet: S, ipMasq: false, forwardRules: true, randomFully: true }).map((t) => t.table), ['filter']);
    assert.deepEqual(wantedRules({ network: N, subnet: S, ipMasq: true, forwardRules: false, randomFully: true }).map((t) => t.table), ['nat']);
  });
  it('parses iptables-save, detects drift, and builds a restore that deletes old jumps', () => {
    const f = forwardRules(N);
    const save = [
      '*filter',
      ':FORWARD DROP [0:0]',
      ':FLANNEL-FWD - [0:0]',
      '-A FORWARD -j DOCKER-USER',
      '-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD',
      '-A FORWARD -s 10.1.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT',
      '-A FLANNEL-FWD -s 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT',
      'COMMIT',
    ].join('\n');
    const saved = parseSave(save, 'FORWARD', 'FLANNEL-FWD', 'flanneld forward');
    assert.equal(saved.chainExists, true);
    assert.equal(saved.builtinOurs.length, 2);
    assert.equal(tableIsCurrent(saved, f), false);
    assert.equal(
      bootstrapText(saved, f),
      [
        '*filter',
        ':FLANNEL-FWD - [0:0]',
        '-D FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD',
        '-D FORWARD -s 10.1.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT',
        '-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD',
        '-A FLANNEL-FWD -s 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT',
        '-A FLANNEL-FWD -d 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT',
        'COMMIT',
        '',
      ].join('\n'),
    );
    const good = parseSave(bootstrapText({ chainExists: false, chainRules: [], builtinOurs: [] }, f).replace(/^:FLANNEL-FWD.*$/m, ':FLANNEL-FWD - [0:0]'), 'FORWARD', 'FLANNEL-FWD', 'flanneld forward');
    assert.equal(tableIsCurrent(good, f), true);
    assert.equal(removeText(saved, f), ['*filter', '-D FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD', '-D FORWARD -s 10.1.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT', ':FLANNEL-FWD - [0:0]', '-X FLANNEL-FWD', 'COMMIT', ''].join('\n'));
  });
});
