import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cniProblems } from '../../../../src/phases/shared/cni-preflight.js';
import { parseCniFacts } from '../../../../src/phases/shared/cni-facts.js';
import { cniOutput, hostSpec } from './fixtures.js';

const spec = hostSpec('h1', { runtime: 'cni' });
const AGENT = '/usr/local/bin/flanneld';

test('a host with Debian\'s plugins and our link has no problem', () => {
  assert.deepEqual(cniProblems(spec, AGENT, parseCniFacts(cniOutput({ link: `symlink ${AGENT}` }))), []);
});

test('missing plugins are refused, named with the directories and the Debian package that has them', () => {
  const p = cniProblems(spec, AGENT, parseCniFacts(cniOutput({ plugins: ['/usr/lib/cni/host-local'] })));
  assert.equal(p.length, 1);
  assert.equal(p[0]!.severity, 'error');
  assert.equal(p[0]!.check, 'cni-plugins');
  assert.match(p[0]!.message, /^CNI plugins bridge, portmap not found in \/opt\/cni\/bin or \/usr\/lib\/cni: .*containernetworking-plugins has them \(apt-get install containernetworking-plugins\)$/);
});

test('a network config sorting before ours is a warning naming it; later ones and non-configs are not', () => {
  const p = cniProblems(spec, AGENT, parseCniFacts(cniOutput({ link: `symlink ${AGENT}`, confs: ['00-k8s.conf', '05-x.conflist', '10-flannel.conflist', '99-loopback.conf', 'README', 'cni.lock'] })));
  assert.deepEqual(p.map((x) => [x.severity, x.check]), [['warning', 'cni-conf']]);
  assert.match(p[0]!.message, /^\/etc\/cni\/net.d\/00-k8s.conf, \/etc\/cni\/net.d\/05-x.conflist sort before 10-flannel.conflist: .*--network flannel/);
});

test('what stands where the link goes is said (a copied plugin file, a link elsewhere); missing facts are an error', () => {
  assert.match(cniProblems(spec, AGENT, parseCniFacts(cniOutput({ link: 'file' })))[0]!.message, /\/opt\/cni\/bin\/flannel is a file .*replaces it with a link to \/usr\/local\/bin\/flanneld/);
  assert.match(cniProblems(spec, AGENT, parseCniFacts(cniOutput({ link: 'symlink /old/flanneld' })))[0]!.message, /points to \/old\/flanneld: up points it to \/usr\/local\/bin\/flanneld/);
  assert.equal(cniProblems(spec, AGENT, undefined)[0]!.severity, 'error');
});
