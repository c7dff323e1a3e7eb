/**
 * e2e: `flanprov lab` builds real hosts (systemd PID 1, sshd, Docker) reachable from here, with etcd, and
 * `lab down` leaves nothing behind. Needs root and the cached rootfs (`flanprov lab rootfs`).
 * Both topologies, one after the other (distinct lab names), to spare the machine's cores.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { cliArgv } from './cli-argv.js';

const ROOT = join(__dirname, '..', '..');
const LABS = '/var/lib/flanprov/labs';

interface Out {
  code: number;
  stdout: string;
  stderr: string;
}

function sh(cmd: string, args: string[], timeoutMs = 120_000): Promise<Out> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

const flanprov = (...args: string[]): Promise<Out> => sh(process.execPath, cliArgv(...args), 180_000);

interface HostInfo {
  name: string;
  ip: string;
  ns: string;
  nspawnPid: number;
  initPid: number;
}

function ssh(lab: string, ip: string, script: string): Promise<Out> {
  const dir = join(LABS, lab, 'ssh');
  return sh('ssh', ['-i', join(dir, 'id_ed25519'), '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
    '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', `root@${ip}`, script], 60_000);
}

function netnsInode(ns: string): number {
  return statSync(`/run/netns/${ns}`).ino;
}

/** PIDs of every process on the machine whose network namespace is one of `inodes`. */
function processesIn(inodes: Set<number>): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const m = /net:\[(\d+)\]/.exec(readlinkSync(`/proc/${e}/ns/net`));
      if (m && inodes.has(Number(m[1]))) out.push(Number(e));
    } catch {
      /* gone or a kernel thread */
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function cgroupDirsNamed(prefix: string): string[] {
  const out: string[] = [];
  for (const h of readdirSync('/sys/fs/cgroup')) {
    try {
      for (const e of readdirSync(join('/sys/fs/cgroup', h))) if (e.startsWith(prefix)) out.push(join('/sys/fs/cgroup', h, e));
    } catch {
      /* not a directory */
    }
  }
  return out;
}

/** FLANPROV_E2E_LAB_PREFIX (e.g. "l") goes before the lab names, so parallel sessions keep to their own labs. */
const PREFIX = process.env.FLANPROV_E2E_LAB_PREFIX ?? '';

for (const [topology, base, hosts] of [['l2', 'e2el', 3], ['routed', 'e2er', 3]] as const) {
  const lab = `${PREFIX}${base}`;
  describe(`flanprov lab (${topology}, lab ${lab})`, { concurrency: false }, () => {
    let hostList: HostInfo[] = [];
    let etcdEndpoint = '';

    before(async () => {
      assert.equal(process.getuid?.(), 0, 'the lab e2e tests need root');
      await flanprov('lab', 'down', '--name', lab); // a left-over from an interrupted run
      const t0 = Date.now();
      const up = await flanprov('lab', 'up', '--name', lab, '--hosts', String(hosts), '--topology', topology);
      assert.equal(up.code, 0, `lab up failed:\n${up.stdout}\n${up.stderr}`);
      console.log(`# lab up (${topology}, ${hosts} hosts) took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      assert.match(up.stdout, /flanprov up -i \/var\/lib\/flanprov\/labs\/\w+\/inventory\.yml/);
      const st = await flanprov('lab', 'status', '--name', lab, '--output', 'json');
      assert.equal(st.code, 0, st.stderr);
      const j = JSON.parse(st.stdout) as { state: string; hosts: HostInfo[]; etcd: { endpoint: string } };
      assert.equal(j.state, 'up');
      hostList = j.hosts;
      etcdEndpoint = j.etcd.endpoint;
    });

    after(async () => {
      await flanprov('lab', 'down', '--name', lab);
    });

    it('writes an Ansible inventory naming every host, the key, known_hosts and etcd', () => {
      const inv = readFileSync(join(LABS, lab, 'inventory.yml'), 'utf8');
      assert.match(inv, new RegExp(`ansible_ssh_private_key_file: ${LABS}/${lab}/ssh/id_ed25519`));
      assert.match(inv, new RegExp(`UserKnownHostsFile=${LABS}/${lab}/ssh/known_hosts`));
      assert.match(inv, new RegExp(`flannel_etcd_endpoints: ${etcdEndpoint.replace(/\./g, '\\.')}`));
      for (const h of hostList) assert.match(inv, new RegExp(`${h.name}: \\{ ansible_host: ${h.ip.replace(/\./g, '\\.')} \\}`));
      const kh = readFileSync(join(LABS, lab, 'ssh', 'known_hosts'), 'utf8').trim().split('\n');
      assert.equal(kh.length, hosts);
      assert.equal(new Set(kh.map((l) => l.split(' ')[2])).size, hosts, 'every host has its own host key');
    });

    it('every host answers SSH (strict host key checking) and boots real systemd to "running"', async () => {
      await Promise.all(hostList.map(async (h) => {
        const r = await ssh(lab, h.ip, 'hostname; ps -p 1 -o comm=; systemctl is-system-running');
        assert.equal(r.code, 0, `${h.name}: ${r.stderr}`);
        assert.deepEqual(r.stdout.trim().split('\n'), [h.name, 'systemd', 'running']);
      }));
    });

    it('Docker works on every host and the probe image is there (with a DF-capable ping)', async () => {
      await Promise.all(hostList.map(async (h) => {
        const r = await ssh(lab, h.ip, 'docker info --format "{{.ServerVersion}}" && docker image inspect --format "{{.Id}}" flanprov-probe:1 && docker run --rm flanprov-probe:1 ping -c1 -M do -s 1400 127.0.0.1 >/dev/null && echo ok');
        assert.equal(r.code, 0, `${h.name}: ${r.stderr}`);
        assert.match(r.stdout, /ok\s*$/);
      }));
    });

    it('every host reaches etcd, and so does this shell', async () => {
      const u = new URL(etcdEndpoint);
      await Promise.all(hostList.map(async (h) => {
        const r = await ssh(lab, h.ip, `timeout 3 bash -c 'exec 3<>/dev/tcp/${u.hostname}/${u.port}' && echo reach`);
        assert.equal(r.code, 0, `${h.name} cannot reach etcd: ${r.stderr}`);
      }));
      const r = await sh('etcdctl', [`--endpoints=${etcdEndpoint}`, 'endpoint', 'health'], 20_000);
      assert.equal(r.code, 0, r.stderr);
    });

    if (topology === 'routed') {
      it('the last host is behind the router: a gateway hop from host 1, none between L2 neighbours', async () => {
        const last = hostList[hostList.length - 1]!;
        const r = await ssh(lab, hostList[0]!.ip, `ip route get ${last.ip}; ip route get ${hostList[1]!.ip}`);
        assert.equal(r.code, 0, r.stderr);
        const [toLast, toNeighbour] = r.stdout.split('\n').filter((l) => /^\d/.test(l));
        assert.match(toLast!, / via /);
        assert.doesNotMatch(toNeighbour!, / via /);
      });

      it('lab reboot of the host behind the router: back on its subnet, reachable from here and from host 1', async () => {
        const last = hostList[hostList.length - 1]!;
        const r = await flanprov('lab', 'reboot', lab, last.name);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        const again = await ssh(lab, hostList[0]!.ip, `ping -c1 -W2 ${last.ip} >/dev/null && echo ok`);
        assert.equal(again.stdout.trim(), 'ok', again.stderr);
        const st = JSON.parse((await flanprov('lab', 'status', '--name', lab, '--output', 'json')).stdout) as { hosts: HostInfo[] };
        const now = st.hosts.find((h) => h.name === last.name)!;
        assert.notEqual(now.initPid, last.initPid, 'a new init');
        hostList = st.hosts; // the later tests look at the processes as they are now
      });
    }

    it('lab up again is a no-op', async () => {
      const r = await flanprov('lab', 'up', '--name', lab, '--hosts', String(hosts), '--topology', topology);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /already up/);
      const st = JSON.parse((await flanprov('lab', 'status', '--name', lab, '--output', 'json')).stdout) as { hosts: HostInfo[] };
      assert.deepEqual(st.hosts.map((h) => h.nspawnPid), hostList.map((h) => h.nspawnPid), 'hosts were not restarted');
    });

    it('lab down leaves no namespace, mount, process or cgroup of the lab behind', async () => {
      const state = JSON.parse(readFileSync(join(LABS, lab, 'state.json'), 'utf8')) as { etcd: { pid: number }; plan: { rootVeth: string } };
      const namespaces = readdirSync('/run/netns').filter((n) => n.startsWith(`fpl-${lab}-`));
      assert.ok(namespaces.length >= hosts + 3, `namespaces before down: ${namespaces.join(' ')}`);
      const inodes = new Set(namespaces.map(netnsInode));
      const pids = [...new Set([...processesIn(inodes), state.etcd.pid, ...hostList.flatMap((h) => [h.nspawnPid, h.initPid])])];
      assert.ok(pids.length > hosts * 3, 'guest processes were found before down');
      assert.ok(cgroupDirsNamed(`fpl-${lab}-`).length > 0, 'the guests have cgroups before down');

      const t0 = Date.now();
      const r = await flanprov('lab', 'down', '--name', lab);
      assert.equal(r.code, 0, r.stderr);
      console.log(`# lab down took ${((Date.now() - t0) / 1000).toFixed(1)} s`);

      assert.deepEqual(existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n.startsWith(`fpl-${lab}-`)) : [], [], 'namespaces');
      const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(`/labs/${lab}/`) || l.includes(`fpl-${lab}-`));
      assert.deepEqual(mounts, [], 'mounts');
      assert.deepEqual(pids.filter(alive), [], 'processes');
      assert.deepEqual(processesIn(inodes).filter(alive), [], 'processes in the lab namespaces');
      assert.deepEqual(cgroupDirsNamed(`fpl-${lab}-`), [], 'cgroups');
      assert.equal((await sh('ip', ['link', 'show', 'dev', state.plan.rootVeth])).code !== 0, true, 'root veth removed');
      assert.equal((await sh('ip', ['-4', 'route'])).stdout.includes(`dev ${state.plan.rootVeth}`), false, 'root routes removed');
      assert.equal(existsSync(join(LABS, lab)), false, 'lab directory removed');

      const again = await flanprov('lab', 'down', '--name', lab);
      assert.equal(again.code, 0);
      assert.match(again.stdout, /nothing to do/);
    });
  });
}

interface StatusJ {
  state: string;
  hosts: Array<HostInfo & { runtime: string; supervisorPid: number }>;
  etcd?: { endpoint: string; running: boolean; v2: boolean };
  etcdGroup?: string[];
  wan?: { spec: string; running: boolean; pid: number };
}

async function labUpStatus(lab: string, args: string[]): Promise<StatusJ> {
  await flanprov('lab', 'down', '--name', lab);
  const up = await flanprov('lab', 'up', '--name', lab, ...args);
  assert.equal(up.code, 0, `lab up ${args.join(' ')} failed:\n${up.stdout}\n${up.stderr}`);
  const st = await flanprov('lab', 'status', '--name', lab, '--output', 'json');
  assert.equal(st.code, 0, st.stderr);
  const j = JSON.parse(st.stdout) as StatusJ;
  assert.equal(j.state, 'up');
  return j;
}

/** min/avg/max of `ping -q` output */
function rtt(out: string): { min: number; avg: number; max: number } {
  const m = /= ([\d.]+)\/([\d.]+)\/([\d.]+)\//.exec(out);
  assert.ok(m, `no ping statistics in: ${out}`);
  return { min: Number(m[1]), avg: Number(m[2]), max: Number(m[3]) };
}

/** A describe() around one lab made with `args` (down before and after); `st()` is its status once up. */
function labSuite(title: string, base: string, args: string[], body: (lab: string, st: () => StatusJ) => void): void {
  const lab = `${PREFIX}${base}`;
  describe(`${title} (lab ${lab})`, { concurrency: false }, () => {
    let status: StatusJ | undefined;
    before(async () => {
      status = await labUpStatus(lab, args);
    });
    after(async () => {
      await flanprov('lab', 'down', '--name', lab);
    });
    body(lab, () => status!);
  });
}

labSuite('flanprov lab up --wan 50ms,100mbit', 'e2ew', ['--hosts', '2', '--wan', '50ms,100mbit'], (lab, status) => {
  let st: StatusJ;
  before(() => {
    st = status();
  });

  it('lab status shows the setting and a running forwarder', async () => {
    assert.equal(st.wan?.spec, '50ms,100mbit');
    assert.equal(st.wan?.running, true);
    const text = await flanprov('lab', 'status', '--name', lab);
    assert.match(text.stdout, /wan\s+50ms,100mbit: 50 ms RTT \(25 ms each way\), 100 Mbit\/s each direction/);
  });

  it('the controller side sees the RTT to every host and to etcd; host to host does not', async () => {
    const [h1, h2] = st.hosts;
    for (const ip of [h1!.ip, h2!.ip, new URL(st.etcd!.endpoint).hostname]) {
      const r = rtt((await sh('ping', ['-q', '-c', '20', '-i', '0.02', ip])).stdout);
      // never faster than the emulated delay, and close to it at best (avg/max grow with the machine's load)
      assert.ok(r.min >= 50 && r.min < 60, `root -> ${ip}: ${JSON.stringify(r)}`);
    }
    const hh = await ssh(lab, h1!.ip, `ping -q -c 20 -i 0.01 ${h2!.ip}; ping -q -c 5 -i 0.01 ${new URL(st.etcd!.endpoint).hostname}`);
    assert.equal(hh.code, 0, hh.stderr);
    const [toHost, toEtcd] = hh.stdout.split('--- ').slice(1).map(rtt);
    // veth speed, nowhere near the WAN's 50 ms (averages: one scheduling hiccup of a loaded machine can make a max)
    assert.ok(toHost!.min < 1 && toHost!.avg < 10, `host -> host: ${JSON.stringify(toHost)}`);
    assert.ok(toEtcd!.min < 1 && toEtcd!.avg < 10, `host -> etcd: ${JSON.stringify(toEtcd)}`);
  });

  it('a bulk copy from here is held to the rate (10 MB over ssh takes >= 0.8 s at 100 Mbit/s)', async () => {
    const h = st.hosts[0]!;
    const dir = join(LABS, lab, 'ssh');
    const t0 = Date.now();
    const r = await sh('sh', ['-c', `head -c 10M /dev/zero | ssh -i ${dir}/id_ed25519 -o UserKnownHostsFile=${dir}/known_hosts -o BatchMode=yes root@${h.ip} 'wc -c'`]);
    const s = (Date.now() - t0) / 1000;
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), String(10 << 20));
    console.log(`# 10 MB over ssh through the WAN: ${s.toFixed(2)} s (${((10 * 8 * 1.048576) / s).toFixed(1)} Mbit/s)`);
    assert.ok(s >= 0.8, `10 MB in ${s} s is faster than 100 Mbit/s`);
  });

  it('lab down stops the forwarder (by PID) and removes the WAN namespace', async () => {
    const pid = st.wan!.pid;
    assert.ok(alive(pid));
    const r = await flanprov('lab', 'down', '--name', lab);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(alive(pid), false, 'forwarder stopped');
    assert.equal(existsSync(`/run/netns/fpl-${lab}-wan`), false, 'WAN namespace removed');
  });
});

labSuite('flanprov lab up --no-etcd', 'e2en', ['--hosts', '3', '--no-etcd'], (lab, status) => {
  let st: StatusJ;
  before(() => {
    st = status();
  });

  it('has no lab etcd: no etcd namespace or process, nothing on 198.18.k.10:2379', async () => {
    assert.equal(st.etcd, undefined);
    assert.deepEqual(st.etcdGroup, ['h1', 'h2', 'h3']);
    assert.equal(existsSync(`/run/netns/fpl-${lab}-etcd`), false);
    const state = JSON.parse(readFileSync(join(LABS, lab, 'state.json'), 'utf8')) as { etcd?: unknown; plan: { etcdIp: string } };
    assert.equal(state.etcd, undefined);
    const r = await sh('etcdctl', [`--endpoints=http://${state.plan.etcdIp}:2379`, '--dial-timeout=1s', 'endpoint', 'health'], 10_000);
    assert.notEqual(r.code, 0, 'nothing answers where the lab etcd would be');
  });

  it('the inventory has an etcd group of the first 3 hosts and no flannel_etcd_endpoints', () => {
    const inv = readFileSync(join(LABS, lab, 'inventory.yml'), 'utf8');
    assert.doesNotMatch(inv, /flannel_etcd_endpoints/);
    assert.match(inv, /\n {4}etcd:\n {6}hosts:\n {8}h1:\n {8}h2:\n {8}h3:\n/);
  });

  it('the hosts can run an etcd cluster among themselves (the controller\'s etcd binary, ports 2379/2380 between hosts)', async () => {
    const cluster = st.hosts.map((h) => `${h.name}=http://${h.ip}:2380`).join(',');
    const etcd = readFileSync('/usr/bin/etcd');
    await Promise.all(st.hosts.map(async (h) => {
      const dir = join(LABS, lab, 'ssh');
      const put = await new Promise<Out>((resolve) => {
        const c = execFile('ssh', ['-i', join(dir, 'id_ed25519'), '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`, '-o', 'BatchMode=yes', `root@${h.ip}`,
          'cat > /usr/local/bin/etcd && chmod 755 /usr/local/bin/etcd'], (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout: String(stdout), stderr: String(stderr) }));
        c.stdin?.end(etcd);
      });
      assert.equal(put.code, 0, put.stderr);
      const r = await ssh(lab, h.ip, `systemd-run --unit=e2e-etcd /usr/local/bin/etcd --name ${h.name} --data-dir /var/lib/e2e-etcd ` +
        `--listen-client-urls http://${h.ip}:2379 --advertise-client-urls http://${h.ip}:2379 --listen-peer-urls http://${h.ip}:2380 ` +
        `--initial-advertise-peer-urls http://${h.ip}:2380 --initial-cluster ${cluster} --initial-cluster-state new --initial-cluster-token e2e`);
      assert.equal(r.code, 0, r.stderr);
    }));
    const endpoints = st.hosts.map((h) => `http://${h.ip}:2379`).join(',');
    let health: Out = { code: 1, stdout: '', stderr: '' };
    for (let i = 0; i < 50 && health.code !== 0; i++) {
      health = await sh('etcdctl', [`--endpoints=${endpoints}`, '--dial-timeout=2s', 'endpoint', 'health'], 20_000);
      if (health.code !== 0) await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(health.code, 0, health.stdout + health.stderr);
    const members = await sh('etcdctl', [`--endpoints=${endpoints}`, 'member', 'list']);
    assert.equal(members.stdout.trim().split('\n').length, 3, members.stdout);
  });
});

labSuite('flanprov lab up --etcd-v2', 'e2e2', ['--hosts', '1', '--etcd-v2'], (_lab, status) => {
  let st: StatusJ;
  before(() => {
    st = status();
  });

  it('the lab etcd serves the v2 API: ETCDCTL_API=2 etcdctl set/get, and a v3 client does not see the key', async () => {
    assert.equal(st.etcd?.v2, true);
    const v2 = (args: string[]): Promise<Out> => new Promise((resolve) => {
      execFile('etcdctl', [`--endpoints=${st.etcd!.endpoint}`, ...args], { env: { ...process.env, ETCDCTL_API: '2' } }, (err, stdout, stderr) =>
        resolve({ code: err ? 1 : 0, stdout: String(stdout), stderr: String(stderr) }));
    });
    const cfg = '{"Network":"10.99.0.0/16","Backend":{"Type":"vxlan"}}';
    const set = await v2(['set', '/coreos.com/network/config', cfg]);
    assert.equal(set.code, 0, set.stderr);
    const get = await v2(['get', '/coreos.com/network/config']);
    assert.equal(get.stdout.trim(), cfg);
    const v3 = await sh('etcdctl', [`--endpoints=${st.etcd!.endpoint}`, 'get', '/coreos.com/network/config']);
    assert.equal(v3.code, 0, v3.stderr);
    assert.equal(v3.stdout.trim(), '', 'the v2 store is separate from v3');
  });

  it('--no-etcd with --etcd-v2 is refused with exit 2', async () => {
    const r = await flanprov('lab', 'up', '--name', `${PREFIX}e2ex`, '--no-etcd', '--etcd-v2');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--no-etcd cannot go with --etcd-v2/);
  });
});

labSuite('flanprov lab up --runtime h2=podman (a mixed lab)', 'e2ep', ['--hosts', '2', '--runtime', 'h2=podman'], (lab, status) => {
  let st: StatusJ;
  before(() => {
    st = status();
  });

  it('status and inventory name the runtimes: flannel_runtime: cni for the Podman host only', () => {
    assert.deepEqual(st.hosts.map((h) => h.runtime), ['docker', 'podman']);
    const inv = readFileSync(join(LABS, lab, 'inventory.yml'), 'utf8');
    assert.match(inv, /h1: \{ ansible_host: [\d.]+ \}/);
    assert.match(inv, /h2: \{ ansible_host: [\d.]+, flannel_runtime: cni \}/);
  });

  it('the Podman host has no Docker, and runs the probe image on a CNI network (bridge + host-local from /usr/lib/cni)', async () => {
    const h2 = st.hosts[1]!;
    const r = await ssh(lab, h2.ip, [
      'command -v docker dockerd containerd || echo no-docker',
      'systemctl is-enabled docker.service containerd.service 2>&1 | tr "\\n" " "; echo',
      'systemctl is-active docker.service 2>&1',
      'podman info --format "{{.Host.NetworkBackend}} {{.Host.CgroupManager}}"',
      'podman network create --subnet 10.250.0.0/24 e2enet >/dev/null',
      // /usr/bin/ping: iputils (busybox sh would run its own ping applet); DF at 1400 bytes, no NET_RAW needed
      'podman run --rm --network e2enet flanprov-probe:1 sh -c "ip -4 -o addr show eth0 | awk \'{print \\$4}\'; /usr/bin/ping -c1 -W2 -M do -s 1400 10.250.0.1 >/dev/null && echo ping-ok"',
      'podman run --rm --network e2enet --sysctl net.ipv4.ping_group_range="1 0" flanprov-probe:1 /usr/bin/ping -c1 -W2 10.250.0.1 >/dev/null 2>&1 && echo ping-without-sysctl || echo no-ping-without-sysctl',
      'ls /etc/cni/net.d/',
    ].join('; '));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines[0], 'no-docker', r.stdout);
    assert.match(lines[1]!, /^masked masked/);
    assert.equal(lines[2], 'inactive');
    assert.equal(lines[3], 'cni cgroupfs');
    assert.match(lines[4]!, /^10\.250\.0\.\d+\/24$/);
    assert.equal(lines[5], 'ping-ok');
    assert.equal(lines[6], 'no-ping-without-sysctl', "without the lab's ping_group_range podman's containers cannot ping (no NET_RAW)");
    assert.match(lines.slice(7).join(' '), /e2enet\.conflist/);
  });

  it('the Docker host next to it still has Docker and the probe image', async () => {
    const r = await ssh(lab, st.hosts[0]!.ip, 'systemctl is-active docker && docker image inspect --format ok flanprov-probe:1');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'active\nok');
  });
});
