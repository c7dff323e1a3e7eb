import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildDelegate, delegateSubnet } from '../../../../src/agent/cni/delegate.js';
import { parseNetConf } from '../../../../src/agent/cni/netconf.js';
import { parseFlannelSubnet } from '../../../../src/agent/cni/subnet-file.js';

const sub = (masq: boolean) => parseFlannelSubnet(`FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=${masq}\n`, '/f');
const conf = (o: Record<string, unknown> = {}) => parseNetConf(JSON.stringify({ cniVersion: '0.4.0', name: 'flannel', type: 'flannel', ...o }));

test('flannel\'s delegate: bridge, MTU from subnet.env, ipMasq the opposite of FLANNEL_IPMASQ, gateway, host-local on the subnet with a route to the network', () => {
  assert.deepEqual(buildDelegate(conf(), sub(true)), {
    cniVersion: '0.4.0', name: 'flannel', type: 'bridge', ipMasq: false, mtu: 1450, isGateway: true, isDefaultGateway: true,
    ipam: { type: 'host-local', subnet: '10.244.7.0/24', routes: [{ dst: '10.244.0.0/16', gw: '10.244.7.1' }] },
  });
  assert.equal(buildDelegate(conf(), sub(false)).ipMasq, true);
});

test('the conflist\'s delegate options win over what flannel fills in; ipam, name and version are always flannel\'s', () => {
  const d = buildDelegate(conf({ delegate: { bridge: 'cni0', hairpinMode: true, mtu: 1400, ipMasq: true, isDefaultGateway: false } }), sub(true));
  assert.equal(d.bridge, 'cni0');
  assert.equal(d.hairpinMode, true);
  assert.equal(d.mtu, 1400);
  assert.equal(d.ipMasq, true);
  assert.equal(d.isDefaultGateway, false);
  assert.equal(d.isGateway, true);
  assert.equal(delegateSubnet(d), '10.244.7.0/24');
});

test('another delegate type gets no bridge-only options; runtimeConfig (port mappings) goes to the delegate', () => {
  const d = buildDelegate(conf({ delegate: { type: 'ipvlan', master: 'eth0' }, runtimeConfig: { portMappings: [] } }), sub(true));
  assert.equal(d.type, 'ipvlan');
  assert.equal('isGateway' in d, false);
  assert.equal('isDefaultGateway' in d, false);
  assert.deepEqual(d.runtimeConfig, { portMappings: [] });
  assert.equal(d.mtu, 1450);
});

test('delegateSubnet of a config without ipam (e.g. hand-made) is undefined', () => {
  assert.equal(delegateSubnet({ type: 'bridge' }), undefined);
});
