import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { describeHandBuilt } from '../../../../src/phases/adopt/describe.js';
import { parseProcLine } from '../../../../src/phases/shared/foreign-agent.js';

/** One flanneld process line as the facts script prints it (pid, unit, exe, argv, environ, MainPID). */
function proc(pid: number, argv: string[], unit = '', env: string[] = []): NonNullable<ReturnType<typeof parseProcLine>> {
  const b64 = (a: string[]) => Buffer.from(a.map((x) => `${x}\0`).join('')).toString('base64');
  const p = parseProcLine([pid, unit, argv[0], b64(argv), b64(env), unit ? pid : ''].join('\t'));
  assert.ok(p, 'a flanneld');
  return p;
}

describe('describeHandBuilt: a hand-built cluster from its flanneld processes', () => {
  const ep = '-etcd-endpoints=http://10.0.0.9:2379';
  it('cluster-wide etcd from the flags, each host its own iface / public IP / ip-masq (flanneld\'s default false)', () => {
    const d = describeHandBuilt([
      { host: 'h1', foreign: [proc(11, ['/opt/flannel/flanneld', ep, '-etcd-prefix=/docker-test/network', '-iface=ens160', '-ip-masq'])] },
      { host: 'h2', foreign: [proc(12, ['/opt/flannel/flanneld', ep, '--etcd-prefix', '/docker-test/network', '-iface-regex=^en', '-public-ip=192.0.2.7'], 'flanneld.service')] },
    ]);
    assert.deepEqual(d.problems, []);
    assert.deepEqual(d.etcd, { endpoints: ['http://10.0.0.9:2379'], prefix: '/docker-test/network', tls: {} });
    assert.deepEqual(d.hostVars.get('h1'), { flannel_ip_masq: true, flannel_iface: 'ens160' });
    assert.deepEqual(d.hostVars.get('h2'), { flannel_ip_masq: false, flannel_iface: '/^en/', flannel_public_ip: '192.0.2.7' });
    assert.match(d.sources.get('h2')!, /pid 12 \/opt\/flannel\/flanneld \(unit flanneld\.service\)/);
  });

  it('FLANNELD_* environment counts like the flags (a unit with EnvironmentFile=)', () => {
    const d = describeHandBuilt([{ host: 'h1', foreign: [proc(5, ['/usr/local/bin/flanneld-amd64'], 'flanneld.service', ['FLANNELD_ETCD_ENDPOINTS=http://10.1.1.1:2379', 'FLANNELD_ETCD_PREFIX=/x/network', 'FLANNELD_IFACE=eth1'])] }]);
    assert.deepEqual(d.problems, []);
    assert.deepEqual(d.etcd?.endpoints, ['http://10.1.1.1:2379']);
    assert.equal(d.etcd?.prefix, '/x/network');
    assert.equal(d.hostVars.get('h1')!.flannel_iface, 'eth1');
  });

  it('problems by host: none running, two running, another etcd, unparsable flags; notes for a moved subnet file', () => {
    const d = describeHandBuilt([
      { host: 'h1', foreign: [proc(1, ['/opt/flanneld', ep, '-etcd-prefix=/a/network', '-subnet-file=/run/flannel/other.env'])] },
      { host: 'h2', foreign: [] },
      { host: 'h3', foreign: [proc(2, ['/opt/flanneld', ep]), proc(3, ['/opt/flanneld', ep])] },
      { host: 'h4', foreign: [proc(4, ['/opt/flanneld', ep, '-etcd-prefix=/b/network'])] },
      { host: 'h5', foreign: [proc(5, ['/opt/flanneld', ep, '-subnet-lease-renew-margin=x'])] },
      { host: 'h6', foreign: [], ours: { flags: undefined } },
    ]);
    const byHost = new Map(d.problems.map((p) => [p.host, p.message]));
    assert.equal(byHost.has('h1'), false);
    assert.match(byHost.get('h2')!, /no flanneld runs here/);
    assert.match(byHost.get('h3')!, /2 flanneld processes run here.*pid 2.*pid 3/);
    assert.match(byHost.get('h4')!, /another etcd than h1's: -etcd-prefix \/b\/network \(h1: \/a\/network\)/);
    assert.match(byHost.get('h5')!, /do not parse/);
    assert.match(byHost.get('h6')!, /flanprov's agent already/);
    assert.match(d.notes.join('\n'), /h1: its flanneld writes \/run\/flannel\/other\.env/);
  });
});
