/**
 * e2e on the routed lab (h3 behind a router): host-gw is refused in preflight naming the non-adjacent
 * pairs (exit 2, nothing changed); vxlan works across the router; `down` refuses without --yes when stdin
 * is not a terminal, and `down --yes` leaves no agent, unit, device, route, rule or lease behind, with
 * Docker back on its default bridge.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, flanprov, sh } from './up-helpers.js';

describe('flanprov down (3-host routed lab)', { timeout: 360_000 }, () => {
  let lab: Lab;
  before(async () => { lab = await Lab.up('e4dn', ['--topology', 'routed']); });
  after(async () => { await lab?.down(); });

  it('host-gw across the router: refused in preflight naming the pairs, exit 2, nothing changed', async () => {
    const inv = lab.variant((i) => { i.all.vars.flannel_backend = 'host-gw'; });
    const r = await flanprov('up', inv);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /h1 ↔ h3/);
    assert.match(r.stdout, /h2 ↔ h3/);
    assert.doesNotMatch(r.stdout, /h1 ↔ h2/);
    for (const [h, o] of await lab.sshAll('ls /usr/local/bin/flanneld /etc/systemd/system/flanneld.service 2>/dev/null | wc -l')) assert.equal(o.stdout.trim(), '0', h);
    const cfg = await sh('etcdctl', ['--endpoints', lab.etcdEndpoint(), 'get', '/coreos.com/network/config']);
    assert.equal(cfg.stdout.trim(), '', 'no config written');
  });

  it('vxlan across the router: ping matrix green', async () => {
    const r = await flanprov('up', lab.inventory);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /h3\s+ok [\d.]+\s+ok/);
  });

  it('down without --yes and without a terminal: refused, exit 2, nothing removed', async () => {
    const r = await flanprov('down', '-i', lab.inventory);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--yes/);
    assert.equal((await lab.ssh('h1', 'systemctl is-active flanneld')).stdout.trim(), 'active');
  });

  it('down --yes: nothing left behind, Docker back on its default bridge', async () => {
    const r = await flanprov('down', '--yes', '-i', lab.inventory);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const check = [
      'systemctl is-active flanneld 2>/dev/null; systemctl is-enabled flanneld 2>/dev/null; true',
      'ls /usr/local/bin/flanneld /etc/systemd/system/flanneld.service /etc/systemd/system/docker.service.d/10-flannel.conf /run/flannel/subnet.env /etc/flannel /var/lib/flanprov/agent.sha256 2>/dev/null',
      'ip -o link show | grep -c flannel',
      'ip -4 -o route show root 10.244.0.0/16 | wc -l',
      'iptables-save | grep -c FLANNEL',
      'ip -4 -o addr show docker0 | awk \'{print $4}\'',
      'docker run --rm flanprov-probe:1 ping -c 1 -W 2 172.17.0.1 >/dev/null && echo docker-ok',
    ].map((c, i) => `echo "::${i}"; ${c}`).join('\n');
    for (const [h, o] of await lab.sshAll(check)) {
      const parts = o.stdout.split(/^::\d+\n?/m).slice(1).map((s) => s.trim());
      assert.match(parts[0]!, /^(inactive|unknown)?\n?(disabled|not-found)?$|^inactive$|^$/, `${h}: agent gone (${parts[0]})`);
      assert.equal(parts[1], '', `${h}: files gone`);
      assert.equal(parts[2], '0', `${h}: no flannel device`);
      assert.equal(parts[3], '0', `${h}: no route inside the Network`);
      assert.equal(parts[4], '0', `${h}: no FLANNEL iptables chains or rules`);
      assert.equal(parts[5], '172.17.0.1/16', `${h}: docker0 on its default bridge`);
      assert.equal(parts[6], 'docker-ok', `${h}: Docker works`);
    }
    const leases = await sh('etcdctl', ['--endpoints', lab.etcdEndpoint(), 'get', '--prefix', '--keys-only', '/coreos.com/network/subnets']);
    assert.equal(leases.stdout.trim(), '', 'no lease left in etcd');
  });
});
