/**
 * cni-network.sh (up's CNI network) and update-mtu.sh (switch-backend's Update MTU) run by bash against a
 * stub ip and nsenter, on a scratch plugin state and a scratch /sys/class/net: the plugin link, the bridge
 * reset, and lib.sh's fp_cni_mtu — the order of the MTU changes both ways (shrinking: bridge, then each
 * container before its veth; growing: the reverse), what cannot be changed and why, the stored delegate
 * configs — as parseCniMtu reads the real output.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASE_TOOLS, stubBox } from './harness.js';
import { remoteScriptUnchecked, type ScriptValue } from '../../../../src/remote/remote-script.js';
import { describeCniMtu, parseCniMtu } from '../../../../src/phases/shared/cni-mtu.js';
import { parseSections, section } from '../../../../src/remote/sections.js';

const box = stubBox({
  // inside a container (FP_NS, set by the stub nsenter): eth0 is the peer of host ifindex 7 (ns1) or 8 (ns2)
  ip: `if [ -n "$FP_NS" ]; then
  case "$*" in
    '-o link show dev eth0') echo "3: eth0@if$([ "\${FP_NS##*/}" = ns1 ] && echo 7 || echo 8): <BROADCAST,UP> mtu 1450 qdisc noqueue state UP" ;;
    'link set dev eth0 mtu '*) [ "\${FP_NS##*/}" = "$FP_FAIL_NS" ] && { echo 'RTNETLINK answers: Invalid argument' >&2; exit 2; } ;;
    *) echo "Device does not exist" >&2; exit 1 ;;
  esac
  exit 0
fi
case "$*" in
  '-o link show') printf '1: lo: <LOOPBACK,UP> mtu 65536\\n7: vethA@if3: <UP> mtu 1450 master cni0\\n8: vethB@if3: <UP> mtu 1450 master cni0\\n9: vethO@if2: <UP> mtu 1450 master cni0\\n' ;;
  '-o link show master cni0') printf '7: vethA@if3: <UP> mtu 1450 master cni0\\n8: vethB@if3: <UP> mtu 1450 master cni0\\n9: vethO@if2: <UP> mtu 1450 master cni0\\n' ;;
  "link del $FP_FAIL_DEL") echo 'Cannot find device' >&2; exit 1 ;;
esac
exit 0`,
  nsenter: 'ns=${1#--net=}; shift; FP_NS=$ns exec "$@"',
}, [...BASE_TOOLS, 'install', 'ln']);
after(() => box.close());

/** A scratch host: plugin state with containers c1, c2 (both alive) and ghost (netns gone), cni0 at `brMtu`. */
function host(name: string, brMtu: number) {
  const d = join(box.dir, name);
  const dd = join(d, 'state');
  const sn = join(d, 'sys');
  mkdirSync(join(dd, '.sandbox'), { recursive: true });
  for (const dev of ['cni0', 'vethO']) mkdirSync(join(sn, dev), { recursive: true });
  writeFileSync(join(sn, 'cni0', 'mtu'), `${brMtu}\n`);
  writeFileSync(join(sn, 'vethO', 'mtu'), '1450\n');
  for (const c of ['c1', 'c2']) {
    writeFileSync(join(d, c === 'c1' ? 'ns1' : 'ns2'), '');
    writeFileSync(join(dd, '.sandbox', c), JSON.stringify({ netns: join(d, c === 'c1' ? 'ns1' : 'ns2'), ifname: 'eth0', network: 'pods' }));
    writeFileSync(join(dd, c), JSON.stringify({ cniVersion: '1.0.0', name: 'pods', type: 'bridge', mtu: 1450, bridge: 'cni0' }));
  }
  writeFileSync(join(dd, '.sandbox', 'ghost'), JSON.stringify({ netns: join(d, 'gone'), ifname: 'eth0' }));
  return { d, dd, sn };
}

const net = (h: ReturnType<typeof host>, o: Record<string, ScriptValue>) =>
  remoteScriptUnchecked('cni-network', { LINK: '', TARGET: '', RESET_BRIDGE: 0, BRIDGE: 'cni0', MTU: '', DATA_DIR: h.dd, SYS_NET: h.sn, ...o });
/** the MTU changes in the order they were made */
const sets = (calls: string[]) => calls.filter((c) => / link set dev /.test(c) && !c.startsWith('ip link set dev eth0')).map((c) => c.replace(/^nsenter --net=\S*\/(ns\d) ip link set dev eth0 mtu (\d+)$/, '$1:eth0 $2').replace(/^ip link set dev (\S+) mtu (\d+)$/, '$1 $2'));

test('cni-network.sh: shrinking: the bridge first, each container before its veth, the orphan veth; configs rewritten; a ghost reported', async () => {
  const h = host('shrink', 1450);
  const r = await box.run(net(h, { MTU: 1400 }));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(sets(r.calls), ['cni0 1400', 'ns1:eth0 1400', 'vethA 1400', 'ns2:eth0 1400', 'vethB 1400', 'vethO 1400']);
  const rep = parseCniMtu(r.stdout, 1400);
  assert.deepEqual(rep.bridge, { from: 1450, to: 1400 });
  assert.deepEqual(rep.containers.slice(0, 2), [
    { id: 'c1', ifname: 'eth0', veth: 'vethA', from: 1450, to: 1400 }, { id: 'c2', ifname: 'eth0', veth: 'vethB', from: 1450, to: 1400 },
  ]);
  assert.match(rep.containers[2]!.error ?? '', new RegExp(`^the network namespace ${h.d}/gone is gone`));
  assert.deepEqual(rep.orphans, [{ name: 'vethO', from: 1450, to: 1400 }]);
  for (const c of ['c1', 'c2']) assert.equal(JSON.parse(readFileSync(join(h.dd, c), 'utf8')).mtu, 1400, 'the stored delegate config says the new MTU');
  assert.deepEqual(describeCniMtu(rep).changed, ['bridge MTU 1450 → 1400', '2 containers (interface and veth) MTU → 1400 in place']);
});

test('cni-network.sh: growing: veth before container, the bridge last; a container side that fails is named, its veth still changed', async () => {
  const h = host('grow', 1450);
  const r = await box.run(net(h, { MTU: 1500 }), { env: { FP_FAIL_NS: 'ns2' } });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(sets(r.calls), ['vethA 1500', 'ns1:eth0 1500', 'vethB 1500', 'ns2:eth0 1500', 'vethO 1500', 'cni0 1500']);
  const c2 = parseCniMtu(r.stdout, 1500).containers[1]!;
  assert.deepEqual([c2.id, c2.veth, c2.error], ['c2', 'vethB', 'container side: RTNETLINK answers: Invalid argument;']);
});

test('cni-network.sh: the plugin link renamed in, the stale bridge deleted, no MTU work without MTU; a failed delete stops it', async () => {
  const h = host('link', 1450);
  const link = join(h.d, 'cni', 'bin', 'flannel');
  const r = await box.run(net(h, { LINK: link, TARGET: '/usr/local/bin/flanneld', RESET_BRIDGE: 1 }));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readlinkSync(link), '/usr/local/bin/flanneld');
  assert.deepEqual(r.calls, ['ip link del cni0']);
  assert.equal(section(parseSections(r.stdout), 'cni_mtu'), undefined);
  const failed = await box.run(net(h, { RESET_BRIDGE: 1, MTU: 1400 }), { env: { FP_FAIL_DEL: 'cni0' } });
  assert.notEqual(failed.code, 0);
  assert.equal(sets(failed.calls).length, 0, 'no MTU change after a failed reset');
  const nobridge = await box.run(net(h, { BRIDGE: 'br-none', MTU: 1400 }));
  assert.equal(section(parseSections(nobridge.stdout), 'cni_mtu')?.body, 'nobridge');
});

test('update-mtu.sh: waits until subnet.env says the MTU, then prints it, Docker\'s state and (cni) the containers at it; without it, changes nothing', async () => {
  const h = host('switch', 1450);
  const env = join(h.d, 'subnet.env');
  writeFileSync(env, 'FLANNEL_SUBNET=10.244.5.1/24\nFLANNEL_MTU=1450\n');
  const script = (mtu: number | '', wait: number) =>
    remoteScriptUnchecked('update-mtu', { MTU: mtu, WAIT: wait, SUBNET_ENV: env, CNI: 1, BRIDGE: 'cni0', DATA_DIR: h.dd, SYS_NET: h.sn });
  const late = setTimeout(() => writeFileSync(env, 'FLANNEL_SUBNET=10.244.5.1/24\nFLANNEL_MTU=1400\n'), 700);
  const t0 = Date.now();
  const r = await box.run(script(1400, 10));
  clearTimeout(late);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(Date.now() - t0 >= 700, 'waited for the agent to write the new MTU');
  const s = parseSections(r.stdout);
  assert.match(section(s, 'subnet_env')?.body ?? '', /^FLANNEL_MTU=1400$/m);
  assert.ok(section(s, 'docker_active') && section(s, 'docker_net'), "Docker's state is printed");
  assert.deepEqual(sets(r.calls).slice(0, 2), ['cni0 1400', 'ns1:eth0 1400']);

  const never = await box.run(script(1500, 1));
  assert.equal(never.code, 0, never.stderr);
  assert.match(section(parseSections(never.stdout), 'subnet_env')?.body ?? '', /^FLANNEL_MTU=1400$/m);
  assert.deepEqual(sets(never.calls), [], 'subnet.env never said 1500: nothing changed');
  const now = await box.run(script('', 10));
  assert.equal(section(parseSections(now.stdout), 'cni_mtu'), undefined, 'a plain read changes nothing');
});
