import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { hoistCommonVars, inventoryYaml } from '../../../src/inventory/write-inventory.js';
import { loadInventoryText } from '../../../src/inventory/load.js';

describe('inventoryYaml', () => {
  const d = {
    header: ['Written by a test', 'Next: flanprov up --adopt -i FILE'],
    clusterVars: { flannel_network: '10.244.0.0/16', flannel_backend: 'vxlan', flannel_etcd_endpoints: ['http://10.0.0.9:2379'], flannel_etcd_prefix: '/docker-test/network' },
    hosts: [
      { name: 'h1', vars: { ansible_host: '10.0.0.1', ansible_user: 'root', flannel_ip_masq: true, flannel_iface: '10.0.0.1' } },
      { name: 'h2', vars: { ansible_host: '10.0.0.2', ansible_user: 'root', flannel_ip_masq: true, flannel_iface: '10.0.0.2' } },
    ],
  };

  it('settings equal on every host go to all.vars once, the rest stay on the hosts', () => {
    const h = hoistCommonVars(d.hosts);
    assert.deepEqual(h.common, { ansible_user: 'root', flannel_ip_masq: true });
    assert.deepEqual(h.hosts[0]!.vars, { ansible_host: '10.0.0.1', flannel_iface: '10.0.0.1' });
    // a key only some hosts have stays on those hosts
    const partial = hoistCommonVars([{ name: 'a', vars: { flannel_public_ip: '1.1.1.1' } }, { name: 'b', vars: {} }]);
    assert.deepEqual(partial.common, {});
  });

  it('the YAML: header comment, nodes group, loads with flanprov\'s loader to the same settings', () => {
    const text = inventoryYaml(d);
    assert.match(text, /^# Written by a test\n# Next: flanprov up --adopt -i FILE\n/);
    const y = parse(text);
    assert.deepEqual(Object.keys(y.all.children.nodes.hosts), ['h1', 'h2']);
    assert.match(text, /flannel_etcd_endpoints: \[ http:\/\/10\.0\.0\.9:2379 \]/);
    const c = loadInventoryText(text, '/tmp/x/inventory.yml', { env: {}, home: '/nonexistent', localUser: 'me', systemSshConfig: null });
    assert.equal(c.etcd.prefix, '/docker-test/network');
    assert.deepEqual(c.etcd.endpoints, ['http://10.0.0.9:2379']);
    assert.deepEqual(c.hosts.map((h) => [h.name, h.connection.host, h.connection.user, h.flannel.iface[0]?.value]), [['h1', '10.0.0.1', 'root', '10.0.0.1'], ['h2', '10.0.0.2', 'root', '10.0.0.2']]);
  });

  it('a single host keeps its settings on itself; a host with none is written as an empty entry', () => {
    const text = inventoryYaml({ header: [], clusterVars: { flannel_network: '10.244.0.0/16', flannel_etcd_endpoints: ['http://e:2379'] }, hosts: [{ name: 'solo', vars: {} }] });
    const c = loadInventoryText(text, '/tmp/x/inventory.yml', { env: {}, home: '/nonexistent', localUser: 'me', systemSshConfig: null });
    assert.deepEqual(c.hosts.map((h) => h.name), ['solo']);
  });
});
