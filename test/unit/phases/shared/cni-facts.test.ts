import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cniBinDirs, cniFactsInput, parseCniFacts } from '../../../../src/phases/shared/cni-facts.js';
import { cniOutput, hostSpec } from './fixtures.js';

test('the facts script looks in the inventory\'s bin dir and Debian\'s, for the plugin link and bridge/host-local/portmap', () => {
  const s = cniFactsInput(hostSpec('h1', { cni: { binDir: '/opt/cni/bin', network: 'flannel', version: '1.0.0' } }));
  assert.deepEqual(s, { link: '/opt/cni/bin/flannel', dirs: ['/opt/cni/bin', '/usr/lib/cni'], plugins: ['bridge', 'host-local', 'portmap'], confDir: '/etc/cni/net.d', bridge: 'cni0' });
  assert.deepEqual(cniBinDirs(hostSpec('h1', { cni: { binDir: '/usr/lib/cni', network: 'f', version: '1.0.0' } })), ['/usr/lib/cni']);
});

test('parsed: the link, where each plugin is, the configs, podman, cni0 and its ports', () => {
  const f = parseCniFacts(cniOutput({
    link: 'symlink /usr/local/bin/flanneld',
    plugins: ['/opt/cni/bin/bridge', '/usr/lib/cni/bridge', '/usr/lib/cni/host-local'],
    bridge: { ifname: 'cni0', mtu: 1450, addr_info: [{ family: 'inet', local: '10.244.7.1', prefixlen: 24 }, { family: 'inet6', local: 'fe80::1', prefixlen: 64 }] },
    ports: [{ ifname: 'veth1', mtu: 1450 }, { ifname: 'veth2', mtu: 1400 }],
  }));
  assert.deepEqual(f.link, { kind: 'symlink', target: '/usr/local/bin/flanneld' });
  assert.deepEqual([...f.plugins], [['bridge', ['/opt/cni/bin', '/usr/lib/cni']], ['host-local', ['/usr/lib/cni']], ['portmap', []]]);
  assert.deepEqual(f.confs, ['10-flannel.conflist', '87-podman-bridge.conflist']);
  assert.equal(f.podman, true);
  assert.deepEqual(f.bridge, { mtu: 1450, addrs: ['10.244.7.1/24'] });
  assert.deepEqual(f.ports, [{ name: 'veth1', mtu: 1450 }, { name: 'veth2', mtu: 1400 }]);
  const none = parseCniFacts(cniOutput({ link: 'file', podman: false }));
  assert.deepEqual(none.link, { kind: 'file' });
  assert.equal(none.podman, false);
  assert.equal(none.bridge, undefined);
  assert.equal(parseCniFacts(cniOutput()).link, undefined);
});
