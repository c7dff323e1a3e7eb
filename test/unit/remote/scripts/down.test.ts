/**
 * down.sh run by bash against stub systemctl/ip/iptables/docker: it removes exactly what it should, in
 * order (agent, files, CNI state, devices, routes inside the Network, jump rules, chains, Docker last), on
 * real files in a scratch directory.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stubBox } from './harness.js';
import { remoteScriptUnchecked } from '../../../../src/remote/remote-script.js';
import { parseSections, section } from '../../../../src/remote/sections.js';

const dockerPid = process.pid;
const box = stubBox({
  systemctl: `case "$1" in
  is-active) exit 0 ;;
  show) echo ${dockerPid} ;;
esac
exit 0`,
  ip: `case "$*" in
  '-o link show') printf '1: lo: <LOOPBACK,UP> mtu 65536\\n2: eth0@if3: <UP> mtu 1500\\n6: flannel.1: <UP> mtu 1450\\n7: flannel-wg: <UP> mtu 1420\\n8: flannelx: <UP>\\n' ;;
  '-o link show master lo') printf '9: vethaa@if2: <UP> mtu 1450 master cni0\\n10: vethbb@if2: <UP> mtu 1450 master cni0\\n' ;;
  '-4 -o route show root 10.244.0.0/16') printf '10.244.5.0/24 dev docker0 proto kernel scope link src 10.244.5.1\\n10.244.7.0/24 via 198.18.1.12 dev eth0\\n' ;;
  '-j -4 addr show dev docker0') echo '[{"ifname":"docker0","addr_info":[{"family":"inet","local":"172.17.0.1","prefixlen":16}]}]' ;;
esac
exit 0`,
  iptables: `case "$*" in
  '-t nat -S POSTROUTING') printf -- '-P POSTROUTING ACCEPT\\n-A POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG\\n-A POSTROUTING -j FLANNEL-POSTRTGX\\n' ;;
  '-t filter -S FORWARD') printf -- '-P FORWARD DROP\\n-A FORWARD -j FLANNEL-FWD\\n' ;;
  '-t nat -S FLANNEL-POSTRTG'|'-t filter -S FLANNEL-FWD') echo "-N $4" ;;
esac
exit 0`,
  docker: 'exit 0',
});
after(() => box.close());

function params(dir: string, o: { docker?: number; cni?: number } = {}) {
  return {
    AGENT_PATH: join(dir, 'bin/flanneld'), NETWORK: '10.244.0.0/16', DOCKER: o.docker ?? 1, DOCKER_DROPIN: join(dir, 'd/10-flannel.conf'),
    DOCKER_KV: join(dir, 'local-kv.db'), CNI: o.cni ?? 0, CNI_LINK: join(dir, 'cnibin/flannel'), CNI_STATE_DIR: join(dir, 'cnistate'),
    CNI_STORE: join(dir, 'networks/pods'), CNI_RESULTS: join(dir, 'results/pods'), CNI_BRIDGE: 'lo',
    FILES: [join(dir, 'd/10-flannel.conf'), join(dir, 'absent.env'), join(dir, 'bin/flanneld')], DIRS: [join(dir, 'd'), join(dir, 'kept')],
  };
}

test('down.sh: removes the agent, present files, devices, routes, rules and chains in order; restarts Docker after its drop-in went', async () => {
  const dir = join(box.dir, 't1');
  for (const d of ['d', 'bin', 'kept']) mkdirSync(join(dir, d), { recursive: true });
  for (const f of ['d/10-flannel.conf', 'bin/flanneld', 'kept/other', 'local-kv.db']) writeFileSync(join(dir, f), 'x');
  const r = await box.run(remoteScriptUnchecked('down', params(dir)));
  assert.equal(r.code, 0, r.stderr);
  const removed = r.stdout.split('\n').filter((l) => l.startsWith('removed ')).map((l) => l.slice(8));
  assert.deepEqual(removed, [
    'flanneld.service (stopped, disabled)', join(dir, 'd/10-flannel.conf'), join(dir, 'bin/flanneld'),
    'device flannel.1', 'device flannel-wg',
    'route 10.244.7.0/24 via 198.18.1.12 dev eth0',
    'iptables -t nat rule: -D POSTROUTING -m comment --comment "flanneld masq" -j FLANNEL-POSTRTG', 'iptables -t nat chain FLANNEL-POSTRTG',
    'iptables -t filter rule: -D FORWARD -j FLANNEL-FWD', 'iptables -t filter chain FLANNEL-FWD',
    'docker restarted on its default bridge',
  ]);
  assert.equal(existsSync(join(dir, 'd')), false, 'an emptied directory goes');
  assert.equal(existsSync(join(dir, 'kept/other')), true, 'a directory with other files stays');
  assert.equal(existsSync(join(dir, 'local-kv.db')), false, "Docker's network store goes when there are no custom networks");
  const mutating = r.calls.filter((c) => / (del|disable|stop|start|-D|-F|-X)( |$)/.test(c));
  assert.deepEqual(mutating, [
    'systemctl disable --now -q flanneld.service',
    'ip link del flannel.1', 'ip link del flannel-wg',
    'ip route del 10.244.7.0/24 via 198.18.1.12 dev eth0',
    'iptables -t nat -D POSTROUTING -m comment --comment flanneld\\ masq -j FLANNEL-POSTRTG', 'iptables -t nat -F FLANNEL-POSTRTG', 'iptables -t nat -X FLANNEL-POSTRTG',
    'iptables -t filter -D FORWARD -j FLANNEL-FWD', 'iptables -t filter -F FLANNEL-FWD', 'iptables -t filter -X FLANNEL-FWD',
    'systemctl stop docker.service docker.socket', 'ip link del docker0', 'systemctl start docker.service',
  ]);
  assert.equal(section(parseSections(r.stdout), 'docker0')?.body, '[{"ifname":"docker0","addr_info":[{"family":"inet","local":"172.17.0.1","prefixlen":16}]}]');
});

test('down.sh: DOCKER=0 leaves Docker alone; a cni host loses our link only, the plugin state, the store, cached results, the bridge and its veths before the routes', async () => {
  const dir = join(box.dir, 't2');
  for (const d of ['cnibin', 'cnistate/c1', 'networks/pods', 'results']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'results/pods-abc-eth0'), '{}');
  writeFileSync(join(dir, 'results/other-abc-eth0'), '{}');
  const p = params(dir, { docker: 0, cni: 1 });
  symlinkSync(p.AGENT_PATH, p.CNI_LINK);
  const r = await box.run(remoteScriptUnchecked('down', p));
  assert.equal(r.code, 0, r.stderr);
  const removed = r.stdout.split('\n').filter((l) => l.startsWith('removed ')).map((l) => l.slice(8));
  assert.deepEqual(removed.slice(1, 6), [
    `${p.CNI_LINK} (the CNI plugin link)`, `${p.CNI_STATE_DIR} (the CNI plugin's state, 1 container(s))`, `${p.CNI_STORE} (host-local's addresses)`,
    `${join(dir, 'results/pods-abc-eth0')} (a runtime's cached CNI result)`, 'device lo and the veths of 2 container(s) still on it (those containers have no network now)',
  ]);
  assert.equal(existsSync(join(dir, 'results/other-abc-eth0')), true, "another network's results stay");
  assert.ok(r.calls.indexOf('ip link del lo') < r.calls.indexOf('ip -4 -o route show root 10.244.0.0/16'), 'the bridge goes before the route sweep');
  assert.equal(r.calls.some((c) => c.startsWith('docker ') || c.includes('docker.service')), false, 'Docker untouched');
});

test('down.sh: a plugin link that is not ours stays', async () => {
  const dir = join(box.dir, 't3');
  mkdirSync(join(dir, 'cnibin'), { recursive: true });
  const p = params(dir, { docker: 0, cni: 1 });
  symlinkSync('/opt/cni/bin/someone-else', p.CNI_LINK);
  const r = await box.run(remoteScriptUnchecked('down', p));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readlinkSync(p.CNI_LINK), '/opt/cni/bin/someone-else');
});
