/**
 * probe-start.sh and probe-remove.sh (phases/shared/ping-matrix.ts probeStartScript/probeRemoveScript, lib.sh
 * fp_probe_*) run by bash against stub docker/podman/nsenter/ip: the container is started once, or after a
 * name clash removed and started again; the netns probe is wired into the host's subnet; parseProbe reads
 * the output; the removal is what each kind needs.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { stubBox } from './harness.js';
import { parseProbe, probeRemoveScript, probeStartScript } from '../../../../src/phases/shared/ping-matrix.js';

const ADDR = '[{"ifname":"eth0","mtu":1450,"addr_info":[{"family":"inet","local":"10.244.7.2","prefixlen":24}]}]';
const box = stubBox({
  // a clash while $FP_STUB_LOG.clash exists: the first `run` fails, the `rm -f` clears it
  docker: `case $1 in
  run) if [ -e "$FP_STUB_LOG.clash" ]; then echo 'Conflict. The container name is already in use' >&2; exit 125; fi; echo 0123abcd ;;
  rm) rm -f "$FP_STUB_LOG.clash" ;;
  inspect) echo 4242 ;;
esac`,
  podman: `case $1 in run) echo feed ;; inspect) echo 4343 ;; esac`,
  nsenter: `echo '${ADDR}'`,
  ip: `[ "$*" = "-n flanprov-probe -j -4 addr show eth0" ] && echo '${ADDR}'; true`,
  sysctl: 'true',
  ping: 'true',
  setsid: 'exec "$@"',
});
after(() => box.close());

test('docker probe: one `docker run` of the probe image, the PID from docker inspect when no cgroup file has it, nsenter as the exec prefix', async () => {
  const r = await box.run(probeStartScript('docker', { image: 'flanprov-probe:1' }));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.calls, [
    'docker run -d --rm --log-driver none --stop-timeout 0 --name flanprov-probe flanprov-probe:1 sleep 3600',
    "docker inspect -f \\{\\{.State.Pid\\}\\} flanprov-probe",
    'nsenter -t 4242 -n ip -j -4 addr show eth0',
  ]);
  assert.deepEqual(parseProbe('docker', r.stdout), { kind: 'docker', ip: '10.244.7.2', mtu: 1450, exec: 'nsenter -t 4242 -n' });
});

test('docker probe: a leftover of the same name is removed and the start retried', async () => {
  await box.run('touch "$FP_STUB_LOG.clash"');
  const r = await box.run(probeStartScript('docker'));
  assert.equal(r.code, 0, r.stderr);
  const runs = r.calls.filter((c) => c.startsWith('docker run'));
  assert.equal(runs.length, 2, r.calls.join('\n'));
  assert.ok(r.calls.indexOf('docker rm -f flanprov-probe') < r.calls.lastIndexOf(runs[1]!));
  assert.equal(parseProbe('docker', r.stdout)?.ip, '10.244.7.2');
});

test('podman probe: on the named CNI network', async () => {
  const r = await box.run(probeStartScript('podman', { network: 'flannel' }));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.calls[0]!, /^podman run -d --rm --log-driver none --network flannel --name flanprov-probe \S+ sleep 3600$/);
  assert.deepEqual(parseProbe('podman', r.stdout)?.exec, 'nsenter -t 4343 -n');
});

test('netns probe: the subnet\'s last host address inside, its first on the host side, routes both ways', async () => {
  const r = await box.run(probeStartScript('netns', { subnet: '10.244.7.1/24', mtu: 1450 }));
  assert.equal(r.code, 0, r.stderr);
  for (const c of [
    'ip netns add flanprov-probe', 'ip link add fpprobe0 mtu 1450 type veth peer name fpprobe1 mtu 1450',
    'ip -n flanprov-probe addr add 10.244.7.254/24 dev eth0', 'ip addr add 10.244.7.1/32 dev fpprobe0',
    'ip route replace 10.244.7.254/32 dev fpprobe0', 'ip -n flanprov-probe route add default via 10.244.7.1 dev eth0',
  ]) assert.ok(r.calls.includes(c), `${c}\n${r.calls.join('\n')}`);
  assert.equal(parseProbe('netns', r.stdout)?.ip, '10.244.7.2');
  assert.throws(() => probeStartScript('netns', {}), /needs the host's flannel subnet/);
});

test('removal: docker rm -f (detached when asked), podman rm -t 0, the namespace and veth', async () => {
  assert.deepEqual((await box.run(probeRemoveScript('docker'))).calls, ['docker rm -f flanprov-probe']);
  assert.deepEqual((await box.run(probeRemoveScript('podman'))).calls, ['podman rm -f -t 0 flanprov-probe']);
  assert.deepEqual((await box.run(probeRemoveScript('netns'))).calls, ['ip netns del flanprov-probe', 'ip link del fpprobe0']);
  const bg = await box.run(probeRemoveScript('docker', { background: true }));
  assert.equal(bg.code, 0);
  for (let i = 0; i < 50 && box.calls().length < 2; i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual(box.calls(), ['setsid docker rm -f flanprov-probe', 'docker rm -f flanprov-probe']);
});
