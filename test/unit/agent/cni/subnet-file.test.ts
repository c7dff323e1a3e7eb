import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFlannelSubnet, readFlannelSubnet } from '../../../../src/agent/cni/subnet-file.js';
import { CniError } from '../../../../src/agent/cni/spec.js';
import { formatNet } from '../../../../src/network/ipv4.js';

const ENV = 'FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n';

test('the four keys, subnet masked to its network (as Go\'s ParseCIDR)', () => {
  const s = parseFlannelSubnet(ENV, '/run/flannel/subnet.env');
  assert.equal(formatNet(s.network), '10.244.0.0/16');
  assert.equal(formatNet(s.subnet), '10.244.7.0/24');
  assert.equal(s.mtu, 1450);
  assert.equal(s.ipMasq, true);
});

test('a missing file is "try again later" (11) naming the file; another read error is I/O (5)', () => {
  const enoent = () => { throw Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' }); };
  assert.throws(() => readFlannelSubnet('/run/flannel/subnet.env', enoent),
    (e: unknown) => e instanceof CniError && e.code === 11 && e.msg.startsWith('/run/flannel/subnet.env does not exist yet') && /flanneld/.test(e.msg));
  const eacces = () => { throw Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' }); };
  assert.throws(() => readFlannelSubnet('/x/s.env', eacces), (e: unknown) => e instanceof CniError && e.code === 5 && /cannot read \/x\/s.env/.test(e.msg));
  assert.equal(readFlannelSubnet('/x', () => ENV).mtu, 1450);
});

test('a file without a key (or with a value flannel would not write) is error 100 naming what is missing', () => {
  assert.throws(() => parseFlannelSubnet('FLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_MTU=x\n', '/f'),
    (e: unknown) => e instanceof CniError && e.code === 100 && e.msg === '/f is missing FLANNEL_NETWORK, FLANNEL_MTU, FLANNEL_IPMASQ');
  assert.throws(() => parseFlannelSubnet('', '/f'), (e: unknown) => e instanceof CniError && e.code === 100);
});
