import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CNI_NETWORK_NAME_RE, flannelConflist, renderConflist } from '../../../src/network/cni.js';
import { parseNetConf } from '../../../src/agent/cni/netconf.js';

test('the conflist: named network, flannel (subnet.env, state dir, bridge cni0 delegate) then portmap with portMappings', () => {
  assert.deepEqual(flannelConflist({ network: 'flannel', cniVersion: '1.0.0' }), {
    name: 'flannel',
    cniVersion: '1.0.0',
    plugins: [
      { type: 'flannel', subnetFile: '/run/flannel/subnet.env', dataDir: '/var/lib/cni/flannel', delegate: { bridge: 'cni0', hairpinMode: true, isDefaultGateway: true } },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  });
  const text = renderConflist({ network: 'pods', cniVersion: '0.3.1' });
  assert.ok(text.endsWith('}\n'));
  assert.equal(JSON.parse(text).name, 'pods');
});

test('what a runtime hands the flannel plugin from the conflist (name and cniVersion copied in) is a config the plugin accepts', () => {
  for (const v of ['0.3.1', '0.4.0', '1.0.0'] as const) {
    const list = flannelConflist({ network: 'flannel', cniVersion: v });
    const first = { ...(list.plugins as Record<string, unknown>[])[0], name: list.name, cniVersion: list.cniVersion };
    const c = parseNetConf(JSON.stringify(first));
    assert.equal(c.cniVersion, v);
    assert.deepEqual(c.delegate, { bridge: 'cni0', hairpinMode: true, isDefaultGateway: true });
  }
});

test('network names as the spec allows them', () => {
  for (const ok of ['flannel', 'cbr0', 'a.b_c-d', '0']) assert.ok(CNI_NETWORK_NAME_RE.test(ok), ok);
  for (const bad of ['', '-x', 'a b', 'a/b', '.x']) assert.ok(!CNI_NETWORK_NAME_RE.test(bad), bad);
});
