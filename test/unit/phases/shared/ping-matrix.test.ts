import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatMatrix } from '../../../../src/cli/output/format.js';
import { parsePingOutput, parseProbe, buildMatrix, matrixOk, diagnose, probeStartScript, probeRemoveScript, type DiagHost } from '../../../../src/phases/shared/ping-matrix.js';

const out = `
::fp:: ping h2
small 0 3 packets transmitted, 3 received, 0% packet loss, time 402ms rtt min/avg/max/mdev = 0.081/0.112/0.150/0.028 ms 
df 0 1 packets transmitted, 1 received, 0% packet loss, time 0ms rtt min/avg/max/mdev = 0.2/0.2/0.2/0 ms 

::fp:: ping h3
small 0 3 packets transmitted, 3 received, 0% packet loss rtt min/avg/max/mdev = 0.1/0.2/0.3/0.0 ms 

::fp:: ping h3
df 1 1 packets transmitted, 0 received, 100% packet loss, time 0ms 

::fp:: routeget h2
[{"dst":"10.244.2.2","gateway":"10.244.2.0","dev":"flannel.1","flags":["onlink"]}]

::fp:: routeget h3
[{"dst":"10.244.3.2","gateway":"198.18.1.1","dev":"eth0","flags":[]}]
`;

test('ping output parses: ok, rtt, DF failure, route lookups', () => {
  const p = parsePingOutput(out);
  assert.deepEqual(p.results.map((r) => [r.host, r.ok, r.mtuOk, r.rttMs]), [['h2', true, true, 0.112], ['h3', true, false, 0.2]]);
  assert.deepEqual(p.routeGet.get('h2'), { dev: 'flannel.1', gateway: '10.244.2.0' });
});

test('diagnosis: MTU black hole, missing route, FORWARD drop, agent not ready', () => {
  const p = parsePingOutput(out);
  const h1: DiagHost = { name: 'h1', publicIp: '198.18.1.11', agentReady: true, flannelFwd: true, forwardPolicy: 'DROP', probe: { kind: 'docker', ip: '10.244.1.2', mtu: 1450, exec: 'docker exec flanprov-probe' }, routeGet: p.routeGet };
  const h3: DiagHost = { name: 'h3', publicIp: '198.18.1.13', agentReady: true, flannelFwd: false, forwardPolicy: 'DROP', probe: { kind: 'docker', ip: '10.244.3.2', mtu: 1450, exec: 'docker exec flanprov-probe' } };
  assert.match(diagnose(h1, h3, p.results[1]!), /MTU black hole/);
  const lost = { ...p.results[1]!, ok: false, mtuOk: false };
  const d = diagnose(h1, h3, lost);
  assert.match(d, /missing flannel route on h1: ip route get 10\.244\.3\.2 goes via 198\.18\.1\.1 dev eth0/);
  assert.match(d, /FORWARD policy DROP without FLANNEL-FWD on h3/);
  assert.doesNotMatch(d, /on h1$/);
  assert.match(diagnose({ ...h1, agentReady: false }, { ...h3, flannelFwd: true }, { ...lost, host: 'h2' }), /agent on h1 is not ready/);
});

test('matrix: cells, ok-ness, text', () => {
  const p = parsePingOutput(out);
  const m = buildMatrix(['h1', 'h2', 'h3'], new Map([['h1', p.results]]), new Map([['h1>h3', 'MTU black hole']]));
  assert.equal(m.cells[0]![0], null);
  assert.deepEqual(m.cells[0]![1], { ok: true, mtuOk: true, rttMs: 0.112 });
  assert.equal(m.cells[0]![2]!.message, 'MTU black hole');
  assert.equal(m.cells[1]![0]!.ok, false, 'unmeasured pairs fail');
  assert.equal(matrixOk(m), false);
  const t = formatMatrix(m);
  assert.match(t, /^h1\s+-\s+ok 0\.11\s+MTU/m);
  assert.match(t, /^h2\s+FAIL/m);
  const all = buildMatrix(['a', 'b'], new Map([['a', [{ host: 'b', ok: true, mtuOk: true, smallText: '', dfText: '' }]], ['b', [{ host: 'a', ok: true, mtuOk: true, smallText: '', dfText: '' }]]]));
  assert.equal(matrixOk(all), true);
});

test('probes parse: the address and MTU from `ip -j addr`, the exec prefix (docker exec without one)', () => {
  // the probe scripts run against stubs in test/unit/remote/scripts/probe.test.ts, pingScript in ping-matrix.test.ts there
  assert.deepEqual(parseProbe('docker', '::fp:: probe\n[{"ifname":"eth0","mtu":1450,"addr_info":[{"family":"inet","local":"10.244.2.2","prefixlen":24}]}]\n'), { kind: 'docker', ip: '10.244.2.2', mtu: 1450, exec: 'docker exec flanprov-probe' });
  assert.equal(parseProbe('docker', '::fp:: probe\n\n'), undefined);
  const p = parseProbe('podman', '\n::fp:: probe\n[{"ifname":"eth0","mtu":1450,"addr_info":[{"family":"inet","local":"10.244.7.3","prefixlen":24}]}]\n::fp:: exec\nnsenter -t 42 -n\n');
  assert.deepEqual(p, { kind: 'podman', ip: '10.244.7.3', mtu: 1450, exec: 'nsenter -t 42 -n' });
  assert.equal(parseProbe('netns', '::fp:: probe\n[{"ifname":"eth0","mtu":1400,"addr_info":[{"family":"inet","local":"10.244.7.254","prefixlen":24}]}]\n')?.exec, 'ip netns exec flanprov-probe');
});
