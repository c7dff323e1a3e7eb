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

const flanprov = (...args: string[]): Promise<Out> => sh(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], 180_000);

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
