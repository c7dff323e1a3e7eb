import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeCniMtu, parseCniMtu } from '../../../../src/phases/shared/cni-mtu.js';

test('the report: bridge, containers (with veth and old MTU), what could not be changed and why', () => {
  const out = `\n::fp:: cni_mtu\nbridge 1500 ok\ncontainer abc123def4567890 eth0 veth1 1500 ok\ncontainer c2 eth0 - - the network namespace /run/netns/x is gone (the container ended without a CNI DEL)\ncontainer c3 eth1 veth3 1500  container side: RTNETLINK answers: Invalid argument;\norphan veth9 1500 ok\n`;
  const r = parseCniMtu(out, 1450);
  assert.deepEqual(r.bridge, { from: 1500, to: 1450 });
  assert.deepEqual(r.containers[0], { id: 'abc123def4567890', ifname: 'eth0', veth: 'veth1', from: 1500, to: 1450 });
  assert.deepEqual(r.containers[1], { id: 'c2', ifname: 'eth0', to: 1450, error: 'the network namespace /run/netns/x is gone (the container ended without a CNI DEL)' });
  assert.equal(r.containers[2]!.error, 'container side: RTNETLINK answers: Invalid argument;');
  assert.deepEqual(r.orphans, [{ name: 'veth9', from: 1500, to: 1450 }]);
  const d = describeCniMtu(r);
  assert.deepEqual(d.changed, ['bridge MTU 1500 → 1450', '1 container (interface and veth) MTU → 1450 in place']);
  assert.equal(d.problems.length, 3);
  assert.match(d.problems[0]!, /^container c2 \(eth0\): the network namespace/);
  assert.match(d.problems[2]!, /veth veth9 on the bridge belongs to no container .*restart that container/);
});

test('no bridge: nothing to change, nothing reported', () => {
  const r = parseCniMtu('\n::fp:: cni_mtu\nnobridge\n', 1500);
  assert.deepEqual(r, { containers: [], orphans: [] });
  assert.deepEqual(describeCniMtu(r), { changed: [], problems: [] });
});
