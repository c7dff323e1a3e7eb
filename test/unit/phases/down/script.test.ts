import { test } from 'node:test';
import assert from 'node:assert/strict';
import { downScript } from '../../../../src/phases/down/script.js';
import { parseCidr } from '../../../../src/network/ipv4.js';

const base = { agentPath: '/usr/local/bin/flanneld', network: parseCidr('10.244.0.0/16')!, docker: false };

test('a Docker host\'s teardown has no CNI part', () => {
  const s = downScript(base);
  assert.doesNotMatch(s, /10-flannel.conflist|\/var\/lib\/cni/);
});

test('a cni host\'s teardown: conflist, our link only, plugin state, host-local store, cached results, cni0 and its veths, before the routes', () => {
  const s = downScript({ ...base, cni: { link: '/opt/cni/bin/flannel', network: 'pods' } });
  assert.match(s, /'\/etc\/cni\/net.d\/10-flannel.conflist'/);
  assert.match(s, /if \[ -L "\$l" \] && \[ "\$\(readlink "\$l"\)" = '\/usr\/local\/bin\/flanneld' \]; then rm -f "\$l"/);
  assert.match(s, /rm -rf \/var\/lib\/cni\/flannel/);
  assert.match(s, /rm -rf '\/var\/lib\/cni\/networks\/pods'/);
  assert.match(s, /\/var\/lib\/cni\/results\/'pods'-\*/);
  assert.match(s, /ip -o link show master cni0 .* do ip link del "\$p"/);
  assert.ok(s.indexOf('ip link del cni0') < s.indexOf('route show root'), 'cni0 goes before the route sweep (its route goes with it)');
});
