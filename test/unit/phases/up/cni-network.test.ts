import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planCni } from '../../../../src/phases/up/cni-network.js';
import { parseCniFacts } from '../../../../src/phases/shared/cni-facts.js';
import { parseSubnetEnv } from '../../../../src/network/subnet-env.js';
import { parseCidr } from '../../../../src/network/ipv4.js';
import { cniOutput } from '../shared/fixtures.js';

const LINK = '/opt/cni/bin/flannel';
const AGENT = '/usr/local/bin/flanneld';
const NET = parseCidr('10.244.0.0/16')!;
const env = (mtu = 1450) => parseSubnetEnv(`FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_MTU=${mtu}\nFLANNEL_IPMASQ=true\n`);
const bridge = (addr: string, mtu = 1450) => ({ mtu, addr_info: [{ family: 'inet', local: addr.split('/')[0], prefixlen: Number(addr.split('/')[1]) }] });

test('converged: nothing to do (no round trip)', () => {
  const f = parseCniFacts(cniOutput({ link: `symlink ${AGENT}`, bridge: bridge('10.244.7.1/24'), ports: [{ ifname: 'v1', mtu: 1450 }] }));
  assert.deepEqual(planCni(LINK, AGENT, f, env(), NET), {});
});

test('the link is made when absent, a file, or pointing elsewhere', () => {
  for (const link of ['', 'file', 'symlink /opt/old/flanneld']) {
    assert.deepEqual(planCni(LINK, AGENT, parseCniFacts(cniOutput({ link })), env(), NET).link, [LINK, AGENT]);
  }
});

test('a bridge with an address from an earlier lease is reset; one outside the network is left alone', () => {
  const stale = parseCniFacts(cniOutput({ link: `symlink ${AGENT}`, bridge: bridge('10.244.3.1/24') }));
  assert.deepEqual(planCni(LINK, AGENT, stale, env(), NET).resetBridge, ['10.244.3.1/24']);
  const other = parseCniFacts(cniOutput({ link: `symlink ${AGENT}`, bridge: bridge('192.168.5.1/24') }));
  assert.equal(planCni(LINK, AGENT, other, env(), NET).resetBridge, undefined);
});

test('a bridge or a container at another MTU than subnet.env\'s is brought to it in place', () => {
  const f = parseCniFacts(cniOutput({ link: `symlink ${AGENT}`, bridge: bridge('10.244.7.1/24', 1450), ports: [{ ifname: 'v1', mtu: 1500 }] }));
  assert.equal(planCni(LINK, AGENT, f, env(1450), NET).mtu, 1450);
  assert.equal(planCni(LINK, AGENT, f, env(1500), NET).mtu, 1500);
  assert.equal(planCni(LINK, AGENT, parseCniFacts(cniOutput({ link: `symlink ${AGENT}` })), env(1500), NET).mtu, undefined, 'no bridge yet: nothing to change');
  const empty = parseCniFacts(cniOutput({ link: `symlink ${AGENT}`, bridge: bridge('10.244.7.1/24', 1500) }));
  assert.equal(planCni(LINK, AGENT, empty, env(1450), NET).mtu, undefined, 'an empty bridge back at 1500 (Linux does that) is no change');
});
