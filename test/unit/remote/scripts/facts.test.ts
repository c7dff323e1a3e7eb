/**
 * facts.sh run by bash against stub ip/systemctl/iptables (fixtures in test/fixtures/remote/facts/), real
 * files, a real TCP listener standing in for etcd and a real HTTP server for the agent's /status: what
 * parseFacts makes of the script's actual output, and which commands it ran.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { createServer as tcpServer, type AddressInfo } from 'node:net';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { BASE_TOOLS, stubBox } from './harness.js';
import { FACTS_END, buildFactsScript, parseFacts } from '../../../../src/phases/shared/facts.js';
import { parseCniFacts } from '../../../../src/phases/shared/cni-facts.js';
import { parseProbe } from '../../../../src/phases/shared/ping-matrix.js';
import { parseSections, section } from '../../../../src/remote/sections.js';
import { RemotePaths } from '../../../../src/inventory/types.js';
import { agentStatusFixture } from '../../../fixtures/agent-status.js';

const dockerPid = process.pid; // a live process whose /proc/PID/cmdline the test can read too

const box = stubBox({
  ip: `case "$*" in
  # only answers once iptables (started later) has run: the sections must run at the same time
  '-j -4 addr show') for _ in $(seq 100); do [ -e "$FP_STUB_LOG.fwd" ] && break; sleep 0.1; done; [ -e "$FP_STUB_LOG.fwd" ] && cat "$FIXTURES/facts/ip-addr.json" ;;
  '-j -4 route show table main') cat "$FIXTURES/facts/ip-route.json" ;;
  '-j -d link show type vxlan') cat "$FIXTURES/facts/ip-vxlan.json" ;;
  '-force -j -batch -') while read -r _ _ a; do if [ -f "$FIXTURES/facts/routeget-$a.json" ]; then cat "$FIXTURES/facts/routeget-$a.json"; else echo 'RTNETLINK answers: Network is unreachable' >&2; fi; done ;;
  *) exit 1 ;;
esac`,
  systemctl: `case "$1 $2" in
  '--version ') printf 'systemd 252 (252.22-1~deb12u1)\\n+PAM +AUDIT +SELINUX\\n' ;;
  'cat docker.service') cat "$FIXTURES/facts/systemctl-cat-docker.txt" ;;
  'show docker.service') printf 'LoadState=loaded\\nActiveState=active\\nMainPID=${dockerPid}\\nActiveEnterTimestampMonotonic=5123456\\n' ;;
  'show flanneld.service') cat "$FIXTURES/facts/systemctl-show-flanneld.txt" ;;
  *) exit 1 ;;
esac`,
  iptables: `touch "$FP_STUB_LOG.fwd"; [ "$1" = -S ] && cat "$FIXTURES/facts/iptables-S.txt"`,
  sha256sum: 'exec_real sha256sum "$@"',
  mktemp: 'd=$(exec_real mktemp "$@") || exit; echo "created $d" >> "$FP_STUB_LOG"; echo "$d"',
  dockerd: 'exit 0',
});
const servers: Server[] = [];
after(() => {
  for (const s of servers) s.close();
  box.close();
});

function listen(s: Server | ReturnType<typeof tcpServer>): Promise<number> {
  return new Promise((res) => s.listen(0, '127.0.0.1', () => res((s.address() as AddressInfo).port)));
}

test('facts.sh: parseFacts of its real output; sections in parallel; agent sha cached; temp dir removed', async () => {
  const status = agentStatusFixture(['vxlan']);
  const http = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(req.url === '/status' ? JSON.stringify(status) : '{}');
  });
  servers.push(http);
  const healthzPort = await listen(http);
  const etcdUp = tcpServer((c) => c.end());
  servers.push(etcdUp as unknown as Server);
  const upPort = await listen(etcdUp);
  const closed = tcpServer();
  const downPort = await listen(closed);
  await new Promise((r) => closed.close(r));

  const agent = join(box.dir, 'bin-agent', 'flanneld');
  mkdirSync(join(box.dir, 'bin-agent'));
  writeFileSync(agent, 'not really an agent\n');
  const unit = join(box.dir, "it's.service");
  writeFileSync(unit, '[Unit]\nDescription=x\n', { mode: 0o640 });
  const missing = join(box.dir, 'missing.conf');
  const cache = join(box.dir, 'state', 'agent.sha256');
  const peers = ['198.18.1.12', '198.18.9.9'];
  const script = buildFactsScript({
    agentPath: agent, files: [unit, missing], peers, healthzPort, etcdTimeoutS: 2,
    etcd: [{ url: 'x', host: '127.0.0.1', port: upPort }, { url: 'y', host: '127.0.0.1', port: downPort }],
  }).replace(`AGENT_SHA_CACHE='/var/lib/flanprov/agent.sha256'`, `AGENT_SHA_CACHE='${cache}'`);

  const r = await box.run(script);
  rmSync(join(box.dir, 'calls.log.fwd'));
  assert.equal(r.code, 0, r.stderr);
  const f = parseFacts('h1', r.stdout, RemotePaths.dockerDropIn, peers);

  assert.deepEqual([f.kernelName, f.systemdVersion], ['Linux', 252]);
  assert.deepEqual(f.interfaces.map((i) => [i.name, i.mtu, i.addrs[0]?.ip]), [['lo', 65536, '127.0.0.1'], ['eth0', 1500, '198.18.1.11'], ['docker0', 1450, '10.244.5.1']]);
  assert.deepEqual(f.defaultRoute, { dev: 'eth0', gateway: '198.18.1.1' });
  assert.deepEqual(f.vxlanLinks.map((l) => l.ifname), ['flannel.1']);
  assert.equal((f.routeGet.get('198.18.1.12') as { dev: string }).dev, 'eth0');
  assert.deepEqual(f.routeGet.get('198.18.9.9'), { error: 'RTNETLINK answers: Network is unreachable' });
  assert.deepEqual([...f.etcdReach], [[`127.0.0.1:${upPort}`, true], [`127.0.0.1:${downPort}`, false]]);
  assert.deepEqual([...f.tools].sort(), ['base64', 'dockerd', 'ip', 'iptables', 'sha256sum', 'systemctl', 'timeout']);
  assert.equal(f.docker.installed, true);
  assert.equal(f.docker.unit?.mainPid, dockerPid);
  assert.equal(f.docker.execStart, '/usr/sbin/dockerd -H fd://     --containerd=/run/containerd/containerd.sock');
  assert.equal(f.docker.cmdline, readFileSync(`/proc/${dockerPid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim());
  assert.deepEqual(f.docker.bridge, { mtu: 1450, addr: '10.244.5.1/24' });
  assert.deepEqual(f.agent.unit, { loaded: true, active: 'active', mainPid: 4242, activeSince: '81234567', unitFileState: 'enabled', restarts: 2 });
  assert.deepEqual(f.agent.status, status);
  const sha = (s: string) => createHash('sha256').update(s).digest('hex');
  assert.equal(f.agent.sha256, sha('not really an agent\n'));
  assert.deepEqual(f.files.get(unit), { sha256: sha('[Unit]\nDescription=x\n'), mode: 0o640, content: '[Unit]\nDescription=x\n' });
  assert.equal(f.files.has(missing), false);
  assert.deepEqual(f.forward, { policy: 'DROP', flannelFwd: true });
  assert.equal(f.os.id, /^ID=(.*)$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1]?.replace(/"/g, ''));
  assert.equal(f.subnetEnvText !== undefined, existsSync('/run/flannel/subnet.env'));

  // the commands it ran: each probe once, the batch lookup once for both peers
  const n = (prefix: string) => r.calls.filter((c) => c.startsWith(prefix)).length;
  assert.equal(n('ip -force -j -batch -'), 1);
  assert.equal(n('systemctl show docker.service'), 1);
  assert.equal(n('sha256sum'), 2, 'agent and the one existing file hashed');
  assert.equal(readFileSync(cache, 'utf8').split(' ')[0], f.agent.sha256);
  const tmp = /^created (\S+)$/m.exec(r.calls.join('\n'))?.[1];
  assert.ok(tmp?.startsWith('/tmp/flanprov-facts.'), r.calls.join('\n'));
  assert.equal(existsSync(tmp!), false, 'temporary directory removed');

  // a second run takes the agent's sha256 from the cache (size, mtime, inode unchanged)
  const again = await box.run(script);
  rmSync(join(box.dir, 'calls.log.fwd'));
  assert.equal(parseFacts('h1', again.stdout, RemotePaths.dockerDropIn, peers).agent.sha256, f.agent.sha256);
  assert.equal(again.calls.filter((c) => c.startsWith('sha256sum')).length, 1, 'only the managed file hashed');
});

test('facts.sh: no peers, no etcd, nothing installed: still exit 0 and empty facts', async () => {
  const bare = stubBox({ systemctl: 'exit 1', ip: 'exit 1', iptables: 'exit 1' });
  try {
    const r = await bare.run(buildFactsScript({ agentPath: '/nonexistent/flanneld', files: ['/nonexistent/x'], peers: [], etcd: [], healthzPort: 1 }));
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.calls.some((c) => c.includes('-batch')), false, 'no lookup without peers');
    const f = parseFacts('h', r.stdout, RemotePaths.dockerDropIn);
    assert.equal(f.docker.installed, false);
    assert.equal(f.agent.sha256, undefined);
    assert.equal(f.agent.unit, undefined);
    assert.equal(f.routeGet.size, 0);
    assert.deepEqual(f.interfaces, []);
  } finally {
    bare.close();
  }
});

test('facts.sh with an early probe and a cni host: the CNI sections among the facts, the probe after FACTS_END, its status in probe_rc', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sfp-cni-'));
  const cniBox = stubBox({
    systemctl: `[ "$1 $2" = "is-active -q" ] && exit 0; exit 1`,
    ip: `case "$*" in
  '-j -4 addr show dev cni0') echo '[{"ifname":"cni0","mtu":1450,"addr_info":[{"family":"inet","local":"10.244.7.1","prefixlen":24}]}]' ;;
  '-j link show master cni0') echo '[{"ifname":"veth1","mtu":1450}]' ;;
  *) exit 1 ;;
esac`,
    iptables: 'exit 1',
    // the probe's `docker run` is slow: the facts must not wait for it
    docker: `case $1 in run) sleep 0.3; echo 0123abcd ;; inspect) echo 4242 ;; esac`,
    podman: 'exit 0',
    nsenter: `echo '[{"ifname":"eth0","mtu":1450,"addr_info":[{"family":"inet","local":"10.244.7.2","prefixlen":24}]}]'`,
  });
  try {
    mkdirSync(join(dir, 'bin'));
    mkdirSync(join(dir, 'net.d'));
    writeFileSync(join(dir, 'net.d', '10-flannel.conflist'), '{}');
    writeFileSync(join(dir, 'bin', 'bridge'), '', { mode: 0o755 });
    symlinkSync('/usr/local/bin/flanneld', join(dir, 'bin', 'flannel'));
    const cni = { link: join(dir, 'bin', 'flannel'), dirs: [join(dir, 'bin'), '/nonexistent'], plugins: ['bridge', 'host-local', 'portmap'], confDir: join(dir, 'net.d'), bridge: 'cni0' };
    const probe = { kind: 'docker' as const, name: 'flanprov-probe', image: 'flanprov-probe:1', network: '', needs: [] };
    const r = await cniBox.run(buildFactsScript({ agentPath: '/nonexistent/flanneld', files: [], peers: [], etcd: [], healthzPort: 1, cni, probe }));
    assert.equal(r.code, 0, r.stderr);
    const end = r.stdout.indexOf(`\n${FACTS_END}\n`);
    assert.ok(end > 0, r.stdout);
    const [facts, rest] = [r.stdout.slice(0, end), r.stdout.slice(end)];
    const c = parseCniFacts(facts);
    assert.deepEqual(c.link, { kind: 'symlink', target: '/usr/local/bin/flanneld' });
    assert.deepEqual([...c.plugins], [['bridge', [join(dir, 'bin')]], ['host-local', []], ['portmap', []]]);
    assert.deepEqual(c.confs, ['10-flannel.conflist']);
    assert.deepEqual(c.bridge, { mtu: 1450, addrs: ['10.244.7.1/24'] });
    assert.equal(parseProbe('docker', facts), undefined, 'the probe is not among the facts');
    assert.deepEqual(parseProbe('docker', rest), { kind: 'docker', ip: '10.244.7.2', mtu: 1450, exec: 'docker exec flanprov-probe' });
    assert.equal(section(parseSections(rest), 'probe_rc')?.body.trim(), '0');

    // no Docker running: status 3 and no container started; podman without its network files: status 3 as well
    const none = stubBox({ systemctl: 'exit 3', ip: 'exit 1', iptables: 'exit 1', docker: 'echo "docker $*" >> "$FP_STUB_LOG.ran"' });
    try {
      const n = await none.run(buildFactsScript({ agentPath: '/x', files: [], peers: [], etcd: [], healthzPort: 1, probe }));
      assert.equal(section(parseSections(n.stdout), 'probe_rc')?.body.trim(), '3');
      assert.ok(!n.calls.some((x) => x.startsWith('docker run')), n.calls.join('\n'));
      const p = await none.run(buildFactsScript({ agentPath: '/x', files: [], peers: [], etcd: [], healthzPort: 1, probe: { ...probe, kind: 'podman', needs: ['/nonexistent/10-flannel.conflist'] } }));
      assert.equal(section(parseSections(p.stdout), 'probe_rc')?.body.trim(), '3');
    } finally {
      none.close();
    }
  } finally {
    cniBox.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
