/**
 * flannel's iptables chains on a real kernel, in a namespace this test creates (fpb<id>ipt).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { IptablesManager, supportsRandomFully } from '../../src/agent/kernel/iptables.js';
import { parseCidr } from '../../src/network/ipv4.js';

const NS = `fpb${process.pid % 10000}ipt`;
const t = { netns: NS };
const ipt = (...args: string[]) => execFileSync('ip', ['netns', 'exec', NS, ...args], { encoding: 'utf8' });
const save = () => ipt('iptables-save');
const logs: string[] = [];
const log = { info: (m: string) => logs.push(`I ${m}`), warn: (m: string) => logs.push(`W ${m}`) };
const params = (sn: string, ipMasq = true) => ({
  network: parseCidr('10.244.0.0/16')!,
  subnet: parseCidr(sn)!,
  ipMasq,
  forwardRules: true,
  randomFully: true,
});

describe('iptables chains', () => {
  before(() => {
    try {
      execFileSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
    } catch {
      /* absent */
    }
    execFileSync('ip', ['netns', 'add', NS]);
    // a foreign rule (Docker's) that must survive everything we do
    ipt('iptables', '-w', '-t', 'nat', '-A', 'POSTROUTING', '-s', '172.17.0.0/16', '!', '-o', 'docker0', '-j', 'MASQUERADE');
    ipt('iptables', '-w', '-P', 'FORWARD', 'DROP');
  });
  after(() => {
    try {
      execFileSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
    } catch {
      /* already gone */
    }
  });

  const m = new IptablesManager(log, t);

  it('installs flannel\'s exact rules, once, with --random-fully', async () => {
    assert.equal(await supportsRandomFully(t), true);
    await m.apply(params('10.244.3.0/24'));
    await m.apply(params('10.244.3.0/24')); // idempotent
    const s = save();
    assert.equal(s.match(/-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG/g)?.length, 1);
    assert.equal(s.match(/-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD/g)?.length, 1);
    for (const rule of [
      '-A FLANNEL-POSTRTG -m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN',
      '-A FLANNEL-POSTRTG -s 10.244.3.0/24 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j RETURN',
      '-A FLANNEL-POSTRTG -s 10.244.0.0/16 -d 10.244.3.0/24 -m comment --comment "flanneld masq" -j RETURN',
      '-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.3.0/24 -m comment --comment "flanneld masq" -j RETURN',
      '-A FLANNEL-POSTRTG -s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
      '-A FLANNEL-POSTRTG ! -s 10.244.0.0/16 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully',
      '-A FLANNEL-FWD -s 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT',
      '-A FLANNEL-FWD -d 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT',
    ]) {
      assert.ok(s.includes(rule + '\n'), `missing: ${rule}`);
    }
    assert.deepEqual(await m.check(), []);
  });

  it('re-creates a deleted chain and a deleted rule on the next check', async () => {
    ipt('iptables', '-w', '-D', 'FORWARD', '-m', 'comment', '--comment', 'flanneld forward', '-j', 'FLANNEL-FWD');
    ipt('iptables', '-w', '-F', 'FLANNEL-FWD');
    ipt('iptables', '-w', '-X', 'FLANNEL-FWD');
    ipt('iptables', '-w', '-t', 'nat', '-D', 'FLANNEL-POSTRTG', '3');
    assert.deepEqual((await m.check()).sort(), ['filter', 'nat']);
    assert.ok(logs.some((l) => l.includes('Some iptables rules are missing')));
    assert.deepEqual(await m.check(), []);
    const s = save();
    assert.match(s, /-A FORWARD -m comment --comment "flanneld forward" -j FLANNEL-FWD/);
    assert.match(s, /-A FLANNEL-POSTRTG -s 10.244.0.0\/16 -d 10.244.3.0\/24 /);
  });

  it('replaces the rule set of a previous subnet and cleans pre-v0.20 rules', async () => {
    ipt('iptables', '-w', '-t', 'nat', '-A', 'POSTROUTING', '-s', '10.244.0.0/16', '-d', '10.244.0.0/16', '-m', 'comment', '--comment', 'flanneld masq', '-j', 'RETURN');
    await m.apply(params('10.244.9.0/24'));
    const s = save();
    assert.ok(!s.includes('10.244.3.0/24'));
    assert.match(s, /-A FLANNEL-POSTRTG -s 10.244.9.0\/24 -d 10.244.0.0\/16 /);
    assert.ok(!/-A POSTROUTING -s 10.244.0.0\/16/.test(s), 'legacy rule removed');
    assert.match(s, /-A POSTROUTING -s 172.17.0.0\/16 ! -o docker0 -j MASQUERADE/);
  });

  it('ip-masq off removes the nat chain; remove() leaves nothing of ours, foreign rules intact', async () => {
    await m.apply(params('10.244.9.0/24', false));
    assert.ok(!save().includes('FLANNEL-POSTRTG'));
    assert.ok(save().includes('FLANNEL-FWD'));
    await m.remove();
    const s = save();
    assert.ok(!s.includes('FLANNEL') && !s.includes('flanneld'), s);
    assert.match(s, /-A POSTROUTING -s 172.17.0.0\/16 ! -o docker0 -j MASQUERADE/);
    assert.match(s, /:FORWARD DROP/);
  });
});
