import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSubnetEnv, parseSubnetEnv } from '../../../src/network/subnet-env.js';
import { formatNet, parseCidr } from '../../../src/network/ipv4.js';

test("subnet.env text is flannel's, byte for byte", () => {
  const text = formatSubnetEnv({ network: parseCidr('10.5.0.0/16')!, subnet: parseCidr('10.5.52.0/24')!, mtu: 1450, ipMasq: false });
  assert.equal(text, 'FLANNEL_NETWORK=10.5.0.0/16\nFLANNEL_SUBNET=10.5.52.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n');
  assert.equal(formatSubnetEnv({ network: parseCidr('10.1.0.0/16')!, subnet: parseCidr('10.1.74.0/24')!, mtu: 1472, ipMasq: true }),
    'FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.74.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n');
});

test('read back: previous subnet masked to its network, tolerant of quotes/export/comments', () => {
  const p = parseSubnetEnv('# written by flanneld\nexport FLANNEL_NETWORK="10.5.0.0/16"\nFLANNEL_SUBNET=10.5.52.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n');
  assert.equal(formatNet(p.subnet!), '10.5.52.0/24');
  assert.equal(formatNet(p.network!), '10.5.0.0/16');
  assert.equal(p.mtu, 1450);
  assert.equal(p.ipMasq, true);
  assert.equal(parseSubnetEnv('FLANNEL_SUBNET=10.5.52.1/24,10.6.0.1/24\n').subnet, undefined);
  assert.deepEqual(parseSubnetEnv(''), {});
});
