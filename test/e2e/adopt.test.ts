/**
 * e2e (issue 9): `up --adopt` on a hand-built cluster, one lab host per tutorial style. "Hand-built" = our
 * agent binary started the way the flannel tutorials start flanneld, with `-etcd-prefix=/docker-test/network`,
 * and Docker given its bridge from subnet.env the way each tutorial does it:
 *   h1 (a) agent from a shell (`nohup /opt/flannel/flanneld ... &`); docker-machine's 10-machine.conf drop-in
 *          whose ExecStart carries --bip/--mtu and unrelated flags (-H tcp://..., --label);
 *   h2 (b) a hand-written flanneld.service running /opt/flannel/flanneld; mk-docker-opts' /run/docker_opts.env
 *          read by a drop-in's EnvironmentFile= into the unit's $DOCKER_OPTS;
 *   h3 (c) agent from a shell as /usr/local/bin/flanneld-amd64; DOCKER_OPTS in /etc/default/docker;
 *   h4 (d) agent from a shell; daemon.json bip/mtu (and an unrelated log-level).
 * Every host runs a container on its flannel bridge. `adopt --write-inventory` describes the cluster (9.3),
 * and the tests after it use that inventory. Without --adopt: refused naming each old agent and each Docker
 * source, nothing changed. With it, h1 alone first (`--limit h1`: a mixed cluster for a while, 9.5), then
 * the others: the containers ping each other every 10 ms through both takeovers and lose nothing, subnets
 * unchanged, Docker and the containers not restarted (the bridge did not change), the unrelated Docker
 * flags still there, a backup of every edited file, the old agents gone; a second `up` changes nothing.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { Lab, LABS, ROOT, flanprov, jsonEvents, sh } from './up-helpers.js';
import { PROBE_IMAGE } from '../../src/network/probe.js';
import { parsePingLog } from '../../src/measure/ping-log.js';
import { pairStats, type PairStats } from '../../src/measure/gaps.js';

const PREFIX = '/docker-test/network';
const CTR = 'e2e-adopt-ctr';
const DROPINS = '/etc/systemd/system/docker.service.d';
const BACKUP = '.flanprov-backup';
const PING_MS = 10;

describe('up --adopt: a hand-built cluster taken over, one host per tutorial style (4-host lab)', { concurrency: false, timeout: 900_000 }, () => {
  let lab: Lab;
  let inv: string;
  let ipMasq = true;
  const ep = () => lab.etcdEndpoint();
  const host = (i: number) => lab.hosts[i]!.name;

  /** The agent's flags as a tutorial writes them (the inventory's etcd, iface and ip-masq). */
  const flags = (ip: string) => `-etcd-endpoints=${ep()} -etcd-prefix=${PREFIX} -iface=${ip} -ip-masq=${ipMasq}`;

  async function handBuild(): Promise<void> {
    const dir = join(LABS, lab.name, 'ssh');
    await Promise.all(lab.hosts.map(async (h, i) => {
      const target = i === 2 ? '/usr/local/bin/flanneld-amd64' : '/opt/flannel/flanneld';
      await lab.ssh(h.name, `mkdir -p ${target.slice(0, target.lastIndexOf('/'))}`);
      const cp = await sh('scp', ['-q', '-i', join(dir, 'id_ed25519'), '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`, '-o', 'BatchMode=yes',
        join(ROOT, 'dist', 'flanneld'), `root@${h.ip}:${target}`]);
      assert.equal(cp.code, 0, cp.stderr);
      const start = i === 1
        ? `printf '[Unit]\\nDescription=flannel (by hand)\\n[Service]\\nExecStart=${target} ${flags(h.ip)}\\nRestart=always\\n[Install]\\nWantedBy=multi-user.target\\n' > /etc/systemd/system/flanneld.service && systemctl daemon-reload && systemctl enable -q --now flanneld.service`
        : `cd /; setsid nohup ${target} ${flags(h.ip)} </dev/null >/var/log/flanneld-by-hand.log 2>&1 &`;
      // a background job started from a `&&` list would keep ssh's stdout open: plain `;` lines
      const r = await lab.ssh(h.name, `chmod 755 ${target}; ${start}`);
      assert.equal(r.code, 0, `${h.name}: ${r.stderr}`);
    }));
    // every hand-started agent wrote its subnet.env
    for (const h of lab.hosts) {
      let ok = false;
      for (let t = 0; t < 100 && !ok; t++) {
        ok = (await lab.ssh(h.name, 'grep -q FLANNEL_SUBNET= /run/flannel/subnet.env')).code === 0;
        if (!ok) await new Promise((r) => setTimeout(r, 200));
      }
      assert.ok(ok, `${h.name}: the hand-started agent wrote no subnet.env`);
    }
  }

  /**
   * Docker given its bridge from subnet.env, one tutorial per host (the shell reads subnet.env on the host,
   * as the tutorials do); then Docker restarts and a container starts on the flannel bridge.
   */
  async function handBuildDocker(): Promise<void> {
    const env = '. /run/flannel/subnet.env; if [ "$FLANNEL_IPMASQ" = true ]; then M=false; else M=true; fi';
    const styles = [
      // (a) docker-machine: a drop-in replacing ExecStart, flannel's flags among others
      `mkdir -p ${DROPINS}; printf '%s\\n' '[Service]' 'ExecStart=' "ExecStart=/usr/sbin/dockerd -H fd:// -H tcp://127.0.0.1:2375 --bip=$FLANNEL_SUBNET --mtu=$FLANNEL_MTU --label provider=generic" > ${DROPINS}/10-machine.conf`,
      // (b) mk-docker-opts.sh's output, read into the Debian unit's $DOCKER_OPTS by an EnvironmentFile= drop-in
      `printf '%s\\n' "DOCKER_OPT_BIP=\\"--bip=$FLANNEL_SUBNET\\"" "DOCKER_OPT_IPMASQ=\\"--ip-masq=$M\\"" "DOCKER_OPT_MTU=\\"--mtu=$FLANNEL_MTU\\"" "DOCKER_OPTS=\\" --bip=$FLANNEL_SUBNET --ip-masq=$M --mtu=$FLANNEL_MTU\\"" > /run/docker_opts.env; mkdir -p ${DROPINS}; printf '%s\\n' '[Service]' 'EnvironmentFile=/run/docker_opts.env' > ${DROPINS}/flannel.conf`,
      // (c) /etc/default/docker, which Debian's unit reads
      `printf '%s\\n' '# set by hand from subnet.env' "DOCKER_OPTS=\\"--bip=$FLANNEL_SUBNET --mtu=$FLANNEL_MTU --label style=default-file\\"" > /etc/default/docker`,
      // (d) daemon.json
      `mkdir -p /etc/docker; printf '{\\n  "bip": "%s",\\n  "mtu": %s,\\n  "ip-masq": %s,\\n  "log-level": "warn"\\n}\\n' "$FLANNEL_SUBNET" "$FLANNEL_MTU" "$M" > /etc/docker/daemon.json`,
    ];
    await Promise.all(lab.hosts.map(async (h, i) => {
      const r = await lab.ssh(h.name, `set -e; ${env}; ${styles[i]}; systemctl daemon-reload; systemctl restart docker
docker rm -f ${CTR} >/dev/null 2>&1 || true
docker run -d --name ${CTR} ${PROBE_IMAGE} sleep 3600 >/dev/null
ip -4 -o addr show dev docker0 | awk '{print $4}'`);
      assert.equal(r.code, 0, `${h.name}: ${r.stdout}${r.stderr}`);
      const sub = (await lab.ssh(h.name, '. /run/flannel/subnet.env; echo $FLANNEL_SUBNET')).stdout.trim();
      assert.equal(r.stdout.trim(), sub, `${h.name}: docker0 is on the flannel subnet`);
    }));
  }

  const subnets = async () => Promise.all(lab.hosts.map(async (h) => (await lab.ssh(h.name, 'grep ^FLANNEL_SUBNET= /run/flannel/subnet.env')).stdout.trim()));

  /** Docker's start and the container's (id, start, running): equal before and after = neither restarted. */
  const dockerState = async () => Promise.all(lab.hosts.map(async (h) =>
    (await lab.ssh(h.name, `systemctl show docker -p ActiveEnterTimestampMonotonic --value; docker inspect -f '{{.Id}} {{.State.StartedAt}} {{.State.Running}}' ${CTR}`)).stdout.trim()));

  /** Every container pings every other one every 10 ms (/usr/bin/ping, iputils: busybox sh would run its own ping applet). */
  async function startContainerPings(): Promise<string[]> {
    const ips = await Promise.all(lab.hosts.map(async (h) => (await lab.ssh(h.name, `docker inspect -f '{{.NetworkSettings.IPAddress}}' ${CTR}`)).stdout.trim()));
    await Promise.all(lab.hosts.map(async (h, i) => {
      const cmds = lab.hosts.map((o, j) => (j === i ? '' : `docker exec -d ${CTR} sh -c '/usr/bin/ping -n -D -O -i ${PING_MS / 1000} ${ips[j]} > /tmp/ping-${o.name}.log 2>&1'`)).filter(Boolean);
      const r = await lab.ssh(h.name, cmds.join('; '));
      assert.equal(r.code, 0, `${h.name}: ${r.stderr}`);
    }));
    return ips;
  }

  async function stopContainerPings(): Promise<PairStats[]> {
    const stats: PairStats[] = [];
    await Promise.all(lab.hosts.map(async (h) => {
      const r = await lab.ssh(h.name, `docker exec ${CTR} sh -c 'for p in $(pidof ping); do kill -INT $p; done; sleep 0.3; for f in /tmp/ping-*.log; do echo "=== $f"; cat $f; done'`);
      assert.equal(r.code, 0, `${h.name}: ${r.stderr}`);
      for (const part of r.stdout.split(/^=== /m).filter(Boolean)) {
        const to = /\/tmp\/ping-(.+)\.log/.exec(part)![1]!;
        stats.push(pairStats(h.name, to, parsePingLog(part.slice(part.indexOf('\n') + 1)), { intervalMs: PING_MS }));
      }
    }));
    return stats.sort((a, b) => `${a.from}${a.to}`.localeCompare(`${b.from}${b.to}`));
  }

  function printPings(label: string, stats: PairStats[]): void {
    const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    const sum = (f: (p: PairStats) => number) => stats.reduce((a, p) => a + f(p), 0);
    process.stdout.write(`# ${label}: ${sum((p) => p.lost)} of ${sum((p) => p.sent)} lost, longest gap ${Math.max(0, ...stats.map((p) => p.longestGapMs))} ms (load ${load})\n`);
    for (const p of stats) process.stdout.write(`#   ${p.from} → ${p.to}: sent ${p.sent}, lost ${p.lost}, longest gap ${p.longestGapMs} ms, max silence ${p.maxSilenceMs} ms\n`);
  }

  before(async () => {
    assert.equal(process.getuid?.(), 0, 'the lab e2e tests need root');
    lab = await Lab.up('adp', ['--hosts', '4']);
    const labVars = (parse(readFileSync(lab.inventory, 'utf8')) as { all: { vars: Record<string, unknown> } }).all.vars;
    if (typeof labVars.flannel_ip_masq === 'boolean') ipMasq = labVars.flannel_ip_masq;
    // -iface=<the host's lab address>: the inventory picks that interface by the same address
    inv = lab.variant((i) => {
      i.all.vars.flannel_etcd_prefix = PREFIX;
      for (const [, h] of Object.entries(i.all.children.nodes.hosts as Record<string, Record<string, unknown>>)) h.flannel_iface = h.ansible_host;
    });
    const put = await sh('etcdctl', [`--endpoints=${ep()}`, 'put', `${PREFIX}/config`, '{"Network":"10.244.0.0/16","Backend":{"Type":"vxlan"}}']);
    assert.equal(put.code, 0, put.stderr);
    await handBuild();
    await handBuildDocker();
  });

  after(async () => {
    await lab?.down();
  });

  it('without --adopt: refused (exit 2) naming every old agent and every Docker source, nothing changed', async () => {
    const before = await subnets();
    const docker = await dockerState();
    const r = await flanprov('up', inv, '--output', 'json');
    assert.equal(r.code, 2, r.stdout.slice(-3000) + r.stderr);
    const text = r.stdout + r.stderr;
    assert.match(text, /h1: a flanneld not installed by flanprov is running: pid \d+ \/opt\/flannel\/flanneld \(no unit: started from a shell\)/);
    assert.match(text, /h2: a flanneld not installed by flanprov is running: pid \d+ \/opt\/flannel\/flanneld \(unit flanneld\.service\)/);
    assert.match(text, /h3: .*\/usr\/local\/bin\/flanneld-amd64 \(no unit/);
    assert.match(text, /h4: .*\/opt\/flannel\/flanneld \(no unit/);
    // each Docker source named, with the file and line
    assert.match(text, /10-machine\.conf:3 sets --bip=10\.244\.\d+\.1\/24/);
    assert.match(text, /\/run\/docker_opts\.env:4 \(DOCKER_OPTS\) sets --bip=10\.244\.\d+\.1\/24/);
    assert.match(text, /\/etc\/default\/docker:2 \(DOCKER_OPTS\) sets --bip=10\.244\.\d+\.1\/24/);
    assert.match(text, /\/etc\/docker\/daemon\.json:2 sets \\?"bip\\?": 10\.244\.\d+\.1\/24/);
    assert.match(text, /--adopt/);
    const summary = jsonEvents(r.stdout).at(-1)!;
    assert.deepEqual(summary.hosts.map((h: any) => [h.host, h.status]), lab.hosts.map((h) => [h.name, 'failed']), JSON.stringify(summary));
    assert.deepEqual(await subnets(), before);
    assert.deepEqual(await dockerState(), docker, 'Docker and the containers untouched');
    const unit = await lab.ssh('h2', 'head -n2 /etc/systemd/system/flanneld.service; ls /usr/local/bin/flanneld 2>&1');
    assert.match(unit.stdout, /Description=flannel \(by hand\)/);
    assert.match(unit.stdout + unit.stderr, /No such file/, 'no agent pushed');
    for (const [h, o] of await lab.sshAll(`ls /etc/default/docker${BACKUP} /run/docker_opts.env${BACKUP} /etc/docker/daemon.json${BACKUP} ${DROPINS}/*${BACKUP} 2>/dev/null | wc -l`)) assert.equal(o.stdout.trim(), '0', `${h}: no file edited`);
  });

  it('adopt --write-inventory describes the running cluster (read-only); the next tests take it over with that file', async () => {
    const dir = join(LABS, lab.name, 'ssh');
    const file = join(LABS, lab.name, 'adopted.yml');
    const hosts = lab.hosts.map((h) => `${h.name}=${h.ip}`).join(',');
    const ssh = ['--hosts', hosts, '-u', 'root', '--private-key', join(dir, 'id_ed25519'), '--ssh-common-args', `-o UserKnownHostsFile=${join(dir, 'known_hosts')}`];
    const before = await subnets();
    const r = await flanprov('adopt', '--write-inventory', file, ...ssh);
    assert.equal(r.code, 0, r.stdout.slice(-3000) + r.stderr);
    const y = parse(readFileSync(file, 'utf8'));
    assert.match(readFileSync(file, 'utf8'), /^# Written by flanprov .* adopt --write-inventory/);
    assert.match(readFileSync(file, 'utf8'), /Next: flanprov up --adopt -i /);
    assert.deepEqual({ ...y.all.vars, ansible_ssh_private_key_file: undefined, ansible_ssh_common_args: undefined }, {
      flannel_network: '10.244.0.0/16', flannel_backend: 'vxlan', flannel_etcd_endpoints: [ep()], flannel_etcd_prefix: PREFIX,
      ansible_user: 'root', ansible_ssh_private_key_file: undefined, ansible_ssh_common_args: undefined, flannel_ip_masq: ipMasq,
    });
    for (const h of lab.hosts) assert.deepEqual(y.all.children.nodes.hosts[h.name], { ansible_host: h.ip, flannel_iface: h.ip }, h.name);
    assert.deepEqual(await subnets(), before, 'nothing changed');
    // a second write is refused without --force; --dry-run prints it instead
    const again = await flanprov('adopt', '--write-inventory', file, ...ssh);
    assert.equal(again.code, 2, again.stdout + again.stderr);
    assert.match(again.stdout + again.stderr, /exists: choose another file, or --force/);
    const dry = await flanprov('adopt', '--write-inventory', file, '--dry-run', ...ssh);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^# Written by flanprov/);
    inv = file;
  });

  it('--adopt --dry-run lists what is replaced and changes nothing', async () => {
    const r = await flanprov('up', inv, '--adopt', '--dry-run');
    assert.equal(r.code, 0, r.stdout.slice(-3000) + r.stderr);
    assert.match(r.stdout, /would replace pid \d+ \/opt\/flannel\/flanneld \(unit flanneld\.service\); subnet 10\.244\.\d+\.0\/24 kept/);
    const still = await lab.ssh('h2', 'head -n2 /etc/systemd/system/flanneld.service');
    assert.match(still.stdout, /by hand/);
  });

  it('--adopt, one host first (--limit h1) then the rest: no container ping lost, subnets kept, Docker and containers not restarted, other Docker flags kept, backups; a second up changes nothing', async () => {
    const before = await subnets();
    const docker = await dockerState();
    await startContainerPings();
    let stats: PairStats[];
    let r;
    try {
      // one host first (issue 9.5): a mixed cluster, h1 run by flanprov, the others still by hand, one etcd
      const first = await flanprov('up', inv, '--adopt', '--limit', 'h1', '--output', 'json');
      assert.equal(first.code, 0, first.stdout.slice(-4000) + first.stderr);
      const mixed = await lab.sshAll('pgrep -f "^/opt/flannel/[f]lanneld|[f]lanneld-amd64" >/dev/null && echo by-hand || echo flanprov');
      assert.deepEqual([...mixed].map(([h, o]) => `${h}: ${o.stdout.trim()}`), ['h1: flanprov', 'h2: by-hand', 'h3: by-hand', 'h4: by-hand']);
      await new Promise((res) => setTimeout(res, 1000));
      r = await flanprov('up', inv, '--adopt', '--output', 'json');
      await new Promise((res) => setTimeout(res, 1000));
    } finally {
      stats = await stopContainerPings();
    }
    printPings('containers on 4 hand-built hosts (4 Docker styles) through the adoption, h1 alone first (--limit h1), then h2-h4', stats);
    assert.equal(r.code, 0, r.stdout.slice(-4000) + r.stderr);
    assert.equal(stats.length, lab.hosts.length * (lab.hosts.length - 1), 'every pair measured');
    for (const p of stats) assert.ok(p.sent > 100 && p.incomplete === false, `${p.from} → ${p.to}: a complete ping log (${p.sent} sent)`);
    assert.deepEqual(jsonEvents(r.stdout).filter((e) => e.event === 'host.change' && e.host === 'h1' && /flanneld|agent/.test(e.change)).map((e) => e.change), [], 'h1 is not taken over twice');
    assert.equal(stats.reduce((a, p) => a + p.lost, 0), 0, 'no container ping lost');
    assert.deepEqual(await subnets(), before, 'every host kept its subnet');
    assert.deepEqual(await dockerState(), docker, 'the bridge did not change: Docker and the containers not restarted');

    const gone = await lab.sshAll('pgrep -f "^/opt/flannel/[f]lanneld|[f]lanneld-amd64" || echo none; systemctl show -p ExecStart --value flanneld.service | grep -o "path=[^ ;]*"; head -n1 /etc/systemd/system/flanneld.service');
    for (const [h, o] of gone) {
      assert.match(o.stdout, /^none$/m, `${h}: the old agent still runs: ${o.stdout}`);
      assert.match(o.stdout, /path=\/usr\/local\/bin\/flanneld$/m, `${h}: ours runs: ${o.stdout}`);
      assert.match(o.stdout, /# Written by flanprov/);
    }
    const bak = await lab.ssh('h2', 'head -n2 /etc/systemd/system/flanneld.service.flanprov-bak');
    assert.match(bak.stdout, /by hand/, 'the hand-written unit kept as a backup');

    // Docker: flannel's flags gone from each source, every other flag kept, a backup next to each edited file
    const cmdline = 'tr "\\0" " " < /proc/$(systemctl show docker -p MainPID --value)/cmdline; echo';
    const a = (await lab.ssh(host(0), `${cmdline}; cat ${DROPINS}/10-flannel-adopted-10-machine.conf; test -e ${DROPINS}/10-machine.conf || echo moved; grep -c -- --bip= ${DROPINS}/10-machine.conf${BACKUP}`)).stdout;
    assert.match(a, /ExecStart=\/usr\/sbin\/dockerd -H fd:\/\/ -H tcp:\/\/127\.0\.0\.1:2375 --label provider=generic\n/, a);
    assert.match(a, /^moved\n1$/m, a);
    const b = (await lab.ssh(host(1), `cat /run/docker_opts.env; echo ---; cat /run/docker_opts.env${BACKUP}`)).stdout.split('---\n');
    // the unit expands $DOCKER_OPTS only: that line loses the flags (mk-docker-opts' DOCKER_OPT_* lines nobody reads stay)
    assert.match(b[0]!, /^DOCKER_OPTS=""$/m, b[0]);
    assert.match(b[1]!, /DOCKER_OPTS=" --bip=10\.244\.\d+\.1\/24/, b[1]);
    const c = (await lab.ssh(host(2), `cat /etc/default/docker; echo ---; cat /etc/default/docker${BACKUP}`)).stdout.split('---\n');
    assert.match(c[0]!, /^DOCKER_OPTS="--label style=default-file"$/m, c[0]);
    assert.match(c[1]!, /DOCKER_OPTS="--bip=10\.244\.\d+\.1\/24 --mtu=\d+ --label style=default-file"/, c[1]);
    const d = (await lab.ssh(host(3), `cat /etc/docker/daemon.json; echo ---; cat /etc/docker/daemon.json${BACKUP}`)).stdout.split('---\n');
    const dj = JSON.parse(d[0]!) as Record<string, unknown>;
    assert.equal(dj['log-level'], 'warn', d[0]);
    assert.equal(dj.bip, undefined, d[0]);
    assert.equal(dj.mtu, undefined, d[0]);
    assert.match(d[1]!, /"bip": "10\.244\.\d+\.1\/24"/, d[1]);

    const again = await flanprov('up', inv, '--adopt', '--output', 'json');
    assert.equal(again.code, 0, again.stdout.slice(-3000));
    const events = jsonEvents(again.stdout);
    assert.deepEqual(events.filter((e) => e.event === 'host.change').map((e) => `${e.host}: ${e.change}`), [], 'second up: no change');

    // what the next Docker restart (a reboot) does with the edited sources: it starts (daemon.json and a flag
    // for the same setting would stop it), one --bip from subnet.env, the unrelated flags still given
    const restarted = await lab.sshAll(`systemctl restart docker && ${cmdline} && ip -4 -o addr show dev docker0 | awk '{print $4}' && . /run/flannel/subnet.env && echo $FLANNEL_SUBNET`);
    for (const [h, o] of restarted) {
      assert.equal(o.code, 0, `${h}: Docker restarts: ${o.stderr}`);
      const [line, addr, want] = o.stdout.trim().split('\n');
      assert.equal((line!.match(/--bip=/g) ?? []).length, 1, `${h}: one --bip on dockerd's command line: ${line}`);
      assert.equal(addr, want, `${h}: docker0 on the flannel subnet after the restart`);
    }
    assert.match(restarted.get(host(0))!.stdout, /-H tcp:\/\/127\.0\.0\.1:2375 --label provider=generic/);
    assert.match(restarted.get(host(2))!.stdout, /--label style=default-file/);
  });
});
