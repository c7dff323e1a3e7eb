import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { networkVarsOf } from '../../../src/inventory/network-vars.js';
import { buildNetworkConfig } from '../../../src/inventory/load.js';
import { parseNetworkConfig } from '../../../src/network/config.js';
import { diffConfigs } from '../../../src/network/config-compare.js';

describe('networkVarsOf: a stored network config as inventory variables', () => {
  it('only what the config sets, and the round trip gives the same config', () => {
    const text = '{"Network":"10.5.0.0/16","SubnetLen":26,"Backend":{"Type":"vxlan","VNI":4,"Port":4789}}';
    const r = networkVarsOf(text);
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.vars, { flannel_network: '10.5.0.0/16', flannel_backend: 'vxlan', flannel_subnet_len: 26, flannel_vni: 4, flannel_port: 4789 });
    assert.deepEqual(diffConfigs(parseNetworkConfig(text), parseNetworkConfig(buildNetworkConfig(r.settings))), []);
  });

  it('keys as Go reads them (case-insensitive), host-gw, SubnetMin/Max', () => {
    const r = networkVarsOf('{"network":"10.6.0.0/16","subnetmin":"10.6.10.0","SUBNETMAX":"10.6.20.0","backend":{"type":"host-gw"}}');
    assert.ok(r.ok, JSON.stringify(r));
    assert.deepEqual(r.vars, { flannel_network: '10.6.0.0/16', flannel_backend: 'host-gw', flannel_subnet_min: '10.6.10.0', flannel_subnet_max: '10.6.20.0' });
  });

  it('explicit defaults are kept as written (they compare equal either way)', () => {
    const r = networkVarsOf('{"Network":"10.7.0.0/16","Backend":{"Type":"vxlan","VNI":1,"Port":8472,"DirectRouting":false}}');
    assert.ok(r.ok);
    assert.equal(r.vars.flannel_vni, 1);
    assert.equal(r.vars.flannel_direct_routing, false);
  });

  it('a config the inventory cannot express is refused naming the fields', () => {
    const gbp = networkVarsOf('{"Network":"10.8.0.0/16","Backend":{"Type":"vxlan","GBP":true}}');
    assert.ok(!gbp.ok);
    assert.match(gbp.error, /Backend\.GBP true/);
    const udp = networkVarsOf('{"Network":"10.8.0.0/16","Backend":{"Type":"udp"}}');
    assert.ok(!udp.ok);
    assert.match(udp.error, /backend "udp".*vxlan and host-gw/);
    const none = networkVarsOf('{"Network":"10.8.0.0/16"}');
    assert.ok(!none.ok, 'no Backend = flannel\'s udp default');
    const nft = networkVarsOf('{"Network":"10.8.0.0/16","EnableNFTables":true,"Backend":{"Type":"host-gw"}}');
    assert.ok(!nft.ok);
    assert.match(nft.error, /EnableNFTables true/);
  });

  it('an invalid stored config says so with flannel\'s reason', () => {
    const r = networkVarsOf('{"Network":"10.9.0.0/16","SubnetLen":8,"Backend":{"Type":"vxlan"}}');
    assert.ok(!r.ok);
    assert.match(r.error, /invalid for flannel/);
  });
});
