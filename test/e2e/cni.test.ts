/**
 * e2e: hosts without Docker (issue 15) on real labs: Podman with its CNI backend, Debian's
 * containernetworking-plugins, the agent binary linked as flannel's CNI plugin.
 * 1. Podman lab (3 hosts): preflight refuses a host without portmap (naming it and the Debian package,
 *    nothing changed) and names a network config that sorts before ours; `up` green with the ping matrix
 *    between Podman containers; the plugin answers as `flannel` on the host; containers started before
 *    `switch-backend` keep their addresses and pass don't-fragment pings at the new MTU, vxlan → host-gw
 *    (then `up` on host-gw green, no change) → vxlan, loss measured; stopping a container releases its
 *    address; `down` leaves no CNI file, link or state.
 * 2. Mixed lab (h2 Podman, h1/h3 Docker): one flannel network, the matrix green across both runtimes, and
 *    a Podman container pings a Docker container.
 * One lab at a time; `after()` takes each down even when a test fails.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, flanprov, jsonEvents } from './up-helpers.js';

const KEEP = 'fpn-keep';

function matrixGreen(events: Record<string, any>[], hosts: number): void {
  const m = events.filter((e) => e.event === 'verify.matrix').at(-1);
  assert.ok(m, 'no verify.matrix event');
  assert.equal(m.hosts.length, hosts);
  for (const row of m.cells) for (const c of row) if (c) assert.ok(c.ok && c.mtuOk !== false, JSON.stringify(m));
}

async function ok(lab: Lab, host: string, script: string): Promise<string> {
  const r = await lab.ssh(host, script);
  assert.equal(r.code, 0, `${host}: ${script}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** A long-lived Podman container on the flannel network; its address. */
async function startKeeper(lab: Lab, host: string): Promise<string> {
  const out = await ok(lab, host, `podman rm -f -t 0 ${KEEP} >/dev/null 2>&1; podman run -d --name ${KEEP} --network flannel flanprov-probe:1 sleep 36000 >/dev/null && podman exec ${KEEP} ip -4 -o addr show eth0`);
  const m = /inet (\d+\.\d+\.\d+\.\d+)\/\d+/.exec(out);
  assert.ok(m, `${host}: no address in ${out}`);
  return m[1]!;
}

/** From the keeper on `host`: its eth0 MTU, and full-size DF pings to every other keeper. */
async function keeperPings(lab: Lab, host: string, peers: string[], mtu: number): Promise<void> {
  const out = await ok(lab, host, `pid=$(podman inspect -f '{{.State.Pid}}' ${KEEP}); nsenter -t $pid -n ip -o link show eth0; ${peers.map((p) => `nsenter -t $pid -n ping -n -q -c 2 -W 2 -M do -s ${mtu - 28} ${p}`).join(' && ')}`);
  assert.match(out, new RegExp(`eth0@if\\d+: .* mtu ${mtu} `), `${host}: ${out}`);
  assert.doesNotMatch(out, /[1-9]\d*% packet loss/, `${host}: ${out}`);
}

function printMeasurement(label: string, events: Record<string, any>[]): void {
  const s = events.find((e) => e.event === 'measure.summary');
  assert.ok(s, `${label}: no measure.summary`);
  process.stdout.write(`# ${label}: ${s.totalLost} of ${s.totalSent} packets lost, longest gap ${s.longestGapMs} ms\n`);
}

describe('Podman lab: the CNI network', () => {
  let lab: Lab;
  const addr = new Map<string, string>();

  before(async () => {
    lab = await Lab.up('cni', ['--hosts', '3', '--runtime', 'podman']);
  });
  after(async () => {
    await lab?.down();
  });

  it('preflight refuses a host without portmap (naming it and the package) and warns of a config sorting first; nothing changed', async () => {
    await ok(lab, 'h2', 'mv /usr/lib/cni/portmap /usr/lib/cni/portmap.off');
    await ok(lab, 'h1', `printf '{"cniVersion":"1.0.0","name":"other","plugins":[{"type":"loopback"}]}' > /etc/cni/net.d/05-other.conflist`);
    try {
      const r = await flanprov('up', '-i', lab.inventory);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stdout + r.stderr, /h2: CNI plugin portmap not found in \/opt\/cni\/bin or \/usr\/lib\/cni: .*containernetworking-plugins/);
      assert.match(r.stdout + r.stderr, /h1: \/etc\/cni\/net.d\/05-other.conflist sorts before 10-flannel.conflist/);
      for (const [h, o] of await lab.sshAll('ls /etc/cni/net.d; ls /opt/cni/bin 2>/dev/null; systemctl is-enabled flanneld 2>&1 || true')) {
        assert.doesNotMatch(o.stdout, /10-flannel.conflist|^flannel$|enabled/m, `${h}: something was changed: ${o.stdout}`);
      }
    } finally {
      await ok(lab, 'h2', 'mv /usr/lib/cni/portmap.off /usr/lib/cni/portmap');
      await ok(lab, 'h1', 'rm -f /etc/cni/net.d/05-other.conflist');
    }
  });

  it('up is green with the ping matrix between Podman containers (vxlan); the agent binary answers as the plugin', async () => {
    const r = await flanprov('up', '-i', lab.inventory, '--output', 'json');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    matrixGreen(jsonEvents(r.stdout), 3);
    for (const [h, o] of await lab.sshAll(`readlink /opt/cni/bin/flannel; test ! -e /etc/systemd/system/docker.service.d/10-flannel.conf && echo no-dropin; grep -o '"name": "[^"]*"' /etc/cni/net.d/10-flannel.conflist | head -1; echo '{"cniVersion":"1.0.0"}' | CNI_COMMAND=VERSION /opt/cni/bin/flannel`)) {
      assert.equal(o.code, 0, `${h}: ${o.stderr}`);
      const lines = o.stdout.trim().split('\n');
      assert.equal(lines[0], '/usr/local/bin/flanneld', `${h}: the plugin is a link to the agent`);
      assert.equal(lines[1], 'no-dropin');
      assert.equal(lines[2], '"name": "flannel"');
      assert.deepEqual(JSON.parse(lines[3]!), { cniVersion: '1.0.0', supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0'] });
    }
  });

  it('containers started before switch-backend keep their addresses and pass DF pings at the new MTU, both ways; up on host-gw is green', async () => {
    for (const h of lab.hosts) addr.set(h.name, await startKeeper(lab, h.name));
    const peers = (h: string) => [...addr].filter(([n]) => n !== h).map(([, a]) => a);
    for (const h of lab.hosts) await keeperPings(lab, h.name, peers(h.name), 1450);

    const toHostGw = await flanprov('switch-backend', 'host-gw', '-i', lab.inventory, '--measure', '--output', 'json');
    assert.equal(toHostGw.code, 0, toHostGw.stdout + toHostGw.stderr);
    const ev1 = jsonEvents(toHostGw.stdout);
    matrixGreen(ev1, 3);
    printMeasurement('vxlan → host-gw (Podman)', ev1);
    const changes = ev1.filter((e) => e.event === 'host.change').map((e) => String(e.change));
    // the keeper, and the verify probe that switch-backend started alongside its facts (it is a container on cni0 too)
    assert.equal(changes.filter((c) => /^\d+ containers? \(interface and veth\) MTU → 1500 in place$/.test(c)).length, 3, changes.join('\n'));
    for (const h of lab.hosts) {
      assert.equal(await startKeeperAddr(lab, h.name), addr.get(h.name), `${h.name}: the container kept its address`);
      await keeperPings(lab, h.name, peers(h.name), 1500);
    }
    const hostGwInv = lab.variant((inv) => { inv.all.vars.flannel_backend = 'host-gw'; });
    const up = await flanprov('up', '-i', hostGwInv, '--output', 'json');
    assert.equal(up.code, 0, up.stdout + up.stderr);
    const upEv = jsonEvents(up.stdout);
    matrixGreen(upEv, 3);
    assert.deepEqual(upEv.filter((e) => e.event === 'host.change').map((e) => `${e.host}: ${e.change}`), [], 'up on host-gw after the switch changes nothing');

    const toVxlan = await flanprov('switch-backend', 'vxlan', '-i', lab.inventory, '--measure', '--output', 'json');
    assert.equal(toVxlan.code, 0, toVxlan.stdout + toVxlan.stderr);
    const ev2 = jsonEvents(toVxlan.stdout);
    matrixGreen(ev2, 3);
    printMeasurement('host-gw → vxlan (Podman)', ev2);
    for (const h of lab.hosts) {
      assert.equal(await startKeeperAddr(lab, h.name), addr.get(h.name));
      await keeperPings(lab, h.name, peers(h.name), 1450);
    }
  });

  it('stopping a container releases its address: no stale host-local entry, no plugin state', async () => {
    for (const [h, o] of await lab.sshAll(`podman rm -f -t 0 ${KEEP} >/dev/null; ls /var/lib/cni/networks/flannel; echo ---; ls /var/lib/cni/flannel`)) {
      assert.equal(o.code, 0, `${h}: ${o.stderr}`);
      const [store, state] = o.stdout.split('---\n');
      assert.doesNotMatch(store!, /^\d+\.\d+\.\d+\.\d+$/m, `${h}: host-local still holds an address: ${store}`);
      assert.equal(state!.trim(), '', `${h}: plugin state left: ${state}`);
    }
  });

  it('down leaves no CNI file, link or state', async () => {
    await startKeeper(lab, 'h1'); // a container still running at down time
    const r = await flanprov('down', '--yes', '-i', lab.inventory);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const left = `for p in /etc/cni/net.d/10-flannel.conflist /opt/cni/bin/flannel /var/lib/cni/flannel /var/lib/cni/networks/flannel; do [ -e "$p" ] && echo "LEFT $p"; done
ls /var/lib/cni/results 2>/dev/null | grep '^flannel-' | sed 's/^/LEFT result /'
ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' | grep -E '^(cni0|flannel|veth)' | sed 's/^/LEFT link /'
true`;
    for (const [h, o] of await lab.sshAll(left)) {
      assert.equal(o.code, 0, `${h}: ${o.stderr}`);
      assert.equal(o.stdout.trim(), '', `${h}: left behind:\n${o.stdout}`);
    }
    await lab.ssh('h1', `podman rm -f -t 0 ${KEEP}`);
  });
});

/** The keeper's current address (after a switch). */
async function startKeeperAddr(lab: Lab, host: string): Promise<string> {
  const out = await ok(lab, host, `podman exec ${KEEP} ip -4 -o addr show eth0`);
  return /inet (\d+\.\d+\.\d+\.\d+)\//.exec(out)![1]!;
}

describe('mixed lab: Docker and Podman hosts on one flannel network', () => {
  let lab: Lab;
  before(async () => {
    lab = await Lab.up('mix', ['--hosts', '3', '--runtime', 'h2=podman']);
  });
  after(async () => {
    await lab?.down();
  });

  it('up is green across both runtimes; a Podman container and a Docker container ping each other at the MTU', async () => {
    const r = await flanprov('up', '-i', lab.inventory, '--output', 'json');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    matrixGreen(jsonEvents(r.stdout), 3);
    const d = await ok(lab, 'h1', 'test -f /etc/systemd/system/docker.service.d/10-flannel.conf && test ! -e /etc/cni/net.d/10-flannel.conflist && docker rm -f fpn-d >/dev/null 2>&1; docker run -d --name fpn-d flanprov-probe:1 sleep 3600 >/dev/null && docker exec fpn-d ip -4 -o addr show eth0');
    const dockerIp = /inet (\d+\.\d+\.\d+\.\d+)\//.exec(d)![1]!;
    const podmanIp = await startKeeper(lab, 'h2');
    await keeperPings(lab, 'h2', [dockerIp], 1450);
    await ok(lab, 'h1', `docker exec fpn-d ping -n -q -c 2 -W 2 -M do -s 1422 ${podmanIp}`);
    await lab.ssh('h1', 'docker rm -f fpn-d');
    await lab.ssh('h2', `podman rm -f -t 0 ${KEEP}`);
  });
});
