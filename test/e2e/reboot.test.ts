/**
 * e2e: a lab host reboots like a machine, and flannel comes back on it by itself. On a 3-host vxlan
 * cluster (`flanprov up`), with continuous pings (src/measure, every 10 ms) between the two hosts that are
 * not rebooted, h2 is rebooted twice: from inside (`systemctl reboot`) and from outside
 * (`flanprov lab reboot --hard`, a power-cut-like kill). After each: same address and host key (strict
 * known_hosts), /run emptied, a fresh network namespace (no flannel device until the agent makes it), the
 * same subnet (lease and subnet.env), Docker on the flannel bridge, a route to every peer, and a green
 * `flanprov check`; the other pair lost nothing meanwhile.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, flanprov, jsonEvents, sh } from './up-helpers.js';
import { loadInventory } from '../../src/inventory/load.js';
import { connectHost } from '../../src/remote/connection.js';
import type { RemoteHost } from '../../src/remote/types.js';
import { parseSubnetEnv } from '../../src/network/subnet-env.js';
import { formatNet } from '../../src/network/ipv4.js';
import { Measurement, type MeasureResult } from '../../src/measure/session.js';
import { pollUntil } from '../../src/lab/exec.js';

const REBOOTED = 'h2';

interface HostView { subnet: string; bip: string; routes: string[]; bootId: string; runMarker: boolean; hostKey: string }

/** What a reboot must keep or renew on a host, read over SSH (strict host key checking: same key). */
async function view(lab: Lab, host: string): Promise<HostView> {
  const r = await lab.ssh(host, [
    'cat /proc/sys/kernel/random/boot_id',
    'cat /run/flannel/subnet.env 2>/dev/null | grep ^FLANNEL_SUBNET= || echo FLANNEL_SUBNET=',
    'ip -4 -o addr show dev docker0 | awk \'{print $4}\'',
    'ip -4 route show | grep "dev flannel" | awk \'{print $1}\' | sort | tr "\\n" " "; echo',
    '[ -e /run/flanprov-e2e-marker ] && echo marker || echo no-marker',
    'ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub | awk \'{print $2}\'',
  ].join('; '));
  assert.equal(r.code, 0, `${host}: ${r.stderr}`);
  const [bootId, subnetLine, bip, routes, marker, hostKey] = r.stdout.split('\n');
  return {
    bootId: bootId!, subnet: subnetLine!.replace('FLANNEL_SUBNET=', ''), bip: bip!.trim(), routes: routes!.trim().split(' ').filter(Boolean),
    runMarker: marker === 'marker', hostKey: hostKey!,
  };
}

function printMeasure(label: string, m: MeasureResult): void {
  process.stdout.write(`# ${label}: ${m.totalLost} of ${m.totalSent} lost, longest gap ${m.worst?.longestGapMs ?? 0} ms\n`);
  for (const p of m.pairs) process.stdout.write(`#   ${p.from} → ${p.to}: sent ${p.sent}, lost ${p.lost}, longest gap ${p.longestGapMs} ms, max silence ${p.maxSilenceMs} ms\n`);
}

describe('lab host reboot with flannel on it', { concurrency: false }, () => {
  let lab: Lab;
  let others: RemoteHost[] = [];

  before(async () => {
    assert.equal(process.getuid?.(), 0, 'the lab e2e tests need root');
    lab = await Lab.up('rb', ['--hosts', '3']);
    const up = await flanprov('up', lab.inventory, '--output', 'json');
    assert.equal(up.code, 0, `up failed: ${up.stdout.slice(-2000)}\n${up.stderr}`);
    const spec = loadInventory(lab.inventory);
    others = await Promise.all(spec.hosts.filter((h) => h.name !== REBOOTED).map((h) => connectHost(h.name, h.connection)));
  });

  after(async () => {
    await Promise.all(others.map((o) => o.close().catch(() => undefined)));
    await lab?.down();
  });

  /** Reboot h2 with `doReboot`, the other two hosts pinging each other all along; returns the measurement. */
  async function rebootMeasured(label: string, doReboot: () => Promise<void>): Promise<void> {
    const before = await view(lab, REBOOTED);
    assert.ok(before.subnet && before.routes.length === 2, `before: ${JSON.stringify(before)}`);
    await lab.ssh(REBOOTED, 'touch /run/flanprov-e2e-marker');
    const subnets = await Promise.all(others.map(async (o) => parseSubnetEnv((await o.run('cat /run/flannel/subnet.env 2>/dev/null')).stdout).subnet!));
    const m = await Measurement.start(others.map((o, i) => ({ name: o.name, remote: o, subnet: subnets[i]! })), { intervalMs: 10, maxSeconds: 300 });
    let result: MeasureResult;
    const t0 = Date.now();
    try {
      await doReboot();
      // flanneld is up when its subnet.env is back and every peer has a route; Docker after it
      const back = await pollUntil(async () => {
        const v = await view(lab, REBOOTED).catch(() => undefined);
        return !!v && v.bootId !== before.bootId && v.routes.length === 2 && v.bip !== '';
      }, 90_000, 250);
      assert.ok(back, `${REBOOTED} did not come back with flannel within 90 s`);
      process.stdout.write(`# ${label}: ${REBOOTED} back with its flannel routes and Docker bridge ${((Date.now() - t0) / 1000).toFixed(1)} s after the reboot began\n`);
      await new Promise((r) => setTimeout(r, 2000)); // traffic after it is back
    } finally {
      result = await m.stop();
    }
    printMeasure(`${label}: pings between the other hosts`, result);

    const after = await view(lab, REBOOTED);
    assert.notEqual(after.bootId, before.bootId, 'a new boot');
    assert.equal(after.runMarker, false, '/run was emptied by the reboot');
    assert.equal(after.hostKey, before.hostKey, 'same host key');
    assert.equal(after.subnet, before.subnet, 'same subnet in subnet.env');
    const leases = await sh('etcdctl', [`--endpoints=${lab.etcdEndpoint()}`, 'get', '--prefix', '/coreos.com/network/subnets/']);
    const keys = leases.stdout.split('\n').filter((l) => l.startsWith('/coreos.com/network/subnets/'));
    assert.equal(keys.length, 3, `one lease per host: ${keys.join(', ')}`);
    const leaseKey = `/coreos.com/network/subnets/${formatNet(parseSubnetEnv(`FLANNEL_SUBNET=${after.subnet}`).subnet!).replace('/', '-')}`;
    const own = leases.stdout.split('\n').findIndex((l) => l === leaseKey);
    assert.ok(own >= 0, `h2's lease ${after.subnet} is in etcd: ${keys.join(', ')}`);
    const h2ip = lab.hosts.find((h) => h.name === REBOOTED)!.ip;
    assert.equal((JSON.parse(leases.stdout.split('\n')[own + 1]!) as { PublicIP: string }).PublicIP, h2ip, "the lease is h2's");
    assert.equal(after.bip, after.subnet, "Docker's bridge is --bip=$FLANNEL_SUBNET");
    assert.deepEqual(after.routes, subnets.map(formatNet).sort(), 'a route to every peer');
    const docker = await lab.ssh(REBOOTED, 'systemctl is-active docker flanneld');
    assert.equal(docker.stdout.trim(), 'active\nactive', docker.stdout + docker.stderr);

    const check = await flanprov('check', '-i', lab.inventory, '--output', 'json');
    const summary = jsonEvents(check.stdout).at(-1);
    assert.equal(check.code, 0, `check after the reboot: ${check.stdout.slice(-2000)}`);
    assert.ok(summary, 'check printed a summary');

    assert.equal(result.problems.length, 0, result.problems.join('; '));
    assert.equal(result.pairs.length, 2);
    for (const p of result.pairs) assert.ok(p.sent > 100 && !p.incomplete, `${p.from} → ${p.to}: ${JSON.stringify(p)}`);
    assert.equal(result.totalLost, 0, 'the other hosts lost no packets between themselves');
  }

  it('systemctl reboot inside a host: it comes back with its subnet, Docker, routes; the others lose nothing', async () => {
    await rebootMeasured('systemctl reboot', async () => {
      const r = await lab.ssh(REBOOTED, 'systemctl reboot');
      assert.ok(r.code === 0 || r.code === 255, `systemctl reboot: ${r.code} ${r.stderr}`);
    });
  });

  it('flanprov lab reboot --hard (a power cut): the same', async () => {
    await rebootMeasured('lab reboot --hard', async () => {
      const r = await flanprov('lab', 'reboot', lab.name, REBOOTED, '--hard');
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /h2 back: .* ready after/);
    });
  });

  it('lab reboot refuses an unknown host with exit 2, naming the hosts', async () => {
    const r = await flanprov('lab', 'reboot', lab.name, 'h9');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no host "h9" \(its hosts: h1, h2, h3\)/);
  });
});
