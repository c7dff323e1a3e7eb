import { test } from 'node:test';
import assert from 'node:assert/strict';
import { downScript } from '../../../../src/phases/down/script.js';
import { parseCidr } from '../../../../src/network/ipv4.js';

// what down.sh does is tested by running it (test/unit/remote/scripts/down.test.ts); here: the parameters
const base = { agentPath: '/usr/local/bin/flanneld', network: parseCidr('10.244.0.0/16')!, docker: false };

test('a Docker host\'s teardown has no CNI part', () => {
  const s = downScript(base);
  assert.match(s, /^CNI='0'$/m);
  assert.doesNotMatch(s, /10-flannel.conflist/);
  assert.match(s, /^NETWORK='10.244.0.0\/16'$/m);
  assert.match(s, /^DOCKER='0'$/m);
});

test('a cni host\'s teardown: conflist, our link, the network\'s store and results', () => {
  const s = downScript({ ...base, docker: true, cni: { link: '/opt/cni/bin/flannel', network: 'pods' } });
  assert.match(s, /^FILES=\(.*'\/etc\/cni\/net.d\/10-flannel.conflist'.*'\/usr\/local\/bin\/flanneld'.*\)$/m);
  assert.match(s, /^CNI='1'$/m);
  assert.match(s, /^CNI_LINK='\/opt\/cni\/bin\/flannel'$/m);
  assert.match(s, /^CNI_STORE='\/var\/lib\/cni\/networks\/pods'$/m);
  assert.match(s, /^CNI_RESULTS='\/var\/lib\/cni\/results\/pods'$/m);
  assert.match(s, /^DOCKER='1'$/m);
});
