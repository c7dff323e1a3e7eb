/**
 * e2e: `flanprov up` on a real 3-host lab (systemd, sshd, Docker, etcd): from nothing on vxlan, a no-change
 * second run, a setting change that restarts only the agents, refusals (broken inventory, unreachable host,
 * unknown host key), a broken data path caught by verification (exit 5), JSON output, then host-gw after
 * `down`.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { streamProblems } from '../../src/cli/output/schema.js';
import { Lab, flanprov, jsonEvents, UNIT_STATE, parseUnitState } from './up-helpers.js';

/** The stream against docs/output-json.md (v, ts, event and each event's fields; summary last). */
function checkSchema(events: Record<string, any>[]): void {
  assert.deepEqual(streamProblems(events), []);
}

describe('flanprov up (3-host l2 lab)', { timeout: 360_000 }, () => {
  let lab: Lab;
  before(async () => { lab = await Lab.up('e4up'); });
  after(async () => { await lab?.down(); });

  it('a broken inventory: file:line:column, exit 2, nothing contacted', async () => {
    const bad = lab.rawVariant((t) => t.replace('flannel_backend: vxlan', 'flannel_backend: [vxlan'));
    const r = await flanprov('up', bad);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, new RegExp(`${bad.replace(/[.]/g, '\\.')}:\\d+:\\d+`));
    assert.doesNotMatch(r.stdout, /Connect/);
  });

  it('an unreachable host: exit 3, names it, no other host changed', async () => {
    const base = lab.hosts[0]!.ip.replace(/\.\d+$/, '');
    const inv = lab.variant((i) => {
      i.all.children.nodes.hosts.h9 = { ansible_host: `${base}.99` };
      i.all.vars.ansible_ssh_common_args += ' -o ConnectTimeout=2';
    });
    const r = await flanprov('up', inv);
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stdout, /h9/);
    for (const [h, o] of await lab.sshAll('test -e /etc/systemd/system/flanneld.service && echo present || echo absent')) assert.equal(o.stdout.trim(), 'absent', h);
  });

  it('an unknown host key: exit 3 with the fingerprint, nothing changed', async () => {
    const inv = lab.variant((i) => {
      const empty = join(dirname(lab.inventory), 'empty_known_hosts_e2e');
      writeFileSync(empty, '');
      i.all.vars.ansible_ssh_common_args = `-o UserKnownHostsFile=${empty}`;
    });
    const r = await flanprov('up', inv);
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /SHA256:/);
    for (const [h, o] of await lab.sshAll('test -e /usr/local/bin/flanneld && echo present || echo absent')) assert.equal(o.stdout.trim(), 'absent', h);
  });

  it('Docker settings made the tutorials\' way (/etc/default/docker DOCKER_OPTS, a 10-machine.conf drop-in): exit 2 naming file and line, hosts failed, nothing changed; --adopt takes them over, other flags kept (issue 9)', async () => {
    const [h1, h2] = [lab.hosts[0]!.name, lab.hosts[1]!.name];
    const dropIn = '/etc/systemd/system/docker.service.d/10-machine.conf';
    await lab.ssh(h1, `cp -a /etc/default/docker /etc/default/docker.e2e 2>/dev/null; printf '%s\\n' '# tutorial' 'DOCKER_OPTS="--bip=10.99.5.1/24 --ip-masq=false --mtu=1472"' > /etc/default/docker`);
    await lab.ssh(h2, `mkdir -p ${dropIn.replace(/\/[^/]+$/, '')} && printf '%s\\n' '[Service]' 'ExecStart=' 'ExecStart=/usr/sbin/dockerd -H fd:// -H tcp://127.0.0.1:2375 --bip=10.1.2.1/24 --mtu=1450 --label provider=generic' > ${dropIn} && systemctl daemon-reload`);
    const dockerSince = async () => new Map([...(await lab.sshAll('systemctl show docker -p ActiveEnterTimestampMonotonic --value'))].map(([h, o]) => [h, o.stdout.trim()]));
    const before = await dockerSince();
    try {
      const r = await flanprov('up', lab.inventory);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      const out = r.stdout + r.stderr;
      assert.match(out, /\/etc\/default\/docker:2 \(DOCKER_OPTS\) sets --bip=10\.99\.5\.1\/24/);
      assert.match(out, /\/etc\/systemd\/system\/docker\.service\.d\/10-machine\.conf:3 sets --bip=10\.1\.2\.1\/24; [^\n]*10-machine\.conf:3 sets --mtu=1450/);
      assert.match(out, /2 failed/);
      for (const [h, o] of await lab.sshAll('test -e /usr/local/bin/flanneld && echo present || echo absent; test -e /etc/systemd/system/docker.service.d/10-flannel.conf && echo present || echo absent')) assert.equal(o.stdout.trim(), 'absent\nabsent', h);
      assert.deepEqual(await dockerSince(), before, 'Docker not restarted anywhere');

      // --adopt: the flags leave /etc/default/docker (backup kept); the drop-in's ExecStart is left to
      // flanprov's drop-in, which repeats it without them; every other flag stays
      const a = await flanprov('up', lab.inventory, '--adopt');
      assert.equal(a.code, 0, a.stdout + a.stderr);
      const [def, bak] = (await lab.ssh(h1, 'cat /etc/default/docker; echo ---; cat /etc/default/docker.flanprov-backup')).stdout.split('---\n');
      assert.equal(def, '# tutorial\nDOCKER_OPTS=""\n');
      assert.match(bak!, /DOCKER_OPTS="--bip=10\.99\.5\.1\/24 --ip-masq=false --mtu=1472"/);
      const moved = '/etc/systemd/system/docker.service.d/10-flannel-adopted-10-machine.conf';
      const cmd = (await lab.ssh(h2, `tr "\\0" " " < /proc/$(systemctl show docker -p MainPID --value)/cmdline; echo; grep -c -- --bip=10.1.2.1 ${dropIn}.flanprov-backup; grep -c -- --bip ${moved}; test -e ${dropIn} || echo moved`)).stdout.split('\n');
      assert.match(cmd[0]!, /-H tcp:\/\/127\.0\.0\.1:2375 --label provider=generic --bip=10\.\d+\.\d+\.1\/24 --mtu=\d+ --ip-masq=false/);
      assert.doesNotMatch(cmd[0]!, /10\.1\.2\.1/);
      // 10-machine.conf sorted after flanprov's drop-in: renamed to sort before it, --bip/--mtu out, a backup kept
      assert.deepEqual(cmd.slice(1, 4), ['1', '0', 'moved']);
      const again = await flanprov('up', lab.inventory, '--adopt');
      assert.equal(again.code, 0, again.stdout + again.stderr);
      assert.match(again.stdout, /no change/i);
      assert.equal((await flanprov('down', '--yes', '-i', lab.inventory)).code, 0);
    } finally {
      await lab.ssh(h1, 'rm -f /etc/default/docker /etc/default/docker.flanprov-backup; mv /etc/default/docker.e2e /etc/default/docker 2>/dev/null; systemctl restart docker');
      await lab.ssh(h2, `rm -f ${dropIn} ${dropIn}.flanprov-backup /etc/systemd/system/docker.service.d/10-flannel-adopted-10-machine.conf && systemctl daemon-reload && systemctl restart docker`);
    }
  });

  it('from nothing (vxlan): agents active, docker0 on the flannel subnet with the agent MTU, ping matrix green', async () => {
    const r = await flanprov('up', lab.inventory, '--output', 'json');
    const events = jsonEvents(r.stdout);
    checkSchema(events);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    console.log(`up from nothing: ${r.ms} ms`);
    const m = events.find((e) => e.event === 'verify.matrix')!;
    assert.deepEqual(m.hosts, lab.hosts.map((h) => h.name));
    m.cells.forEach((row: any[], i: number) => row.forEach((c, j) => (i === j ? assert.equal(c, null) : assert.ok(c.ok && c.mtuOk, `${i}->${j}`))));
    for (const [h, o] of await lab.sshAll('systemctl is-active flanneld; . /run/flannel/subnet.env; echo $FLANNEL_SUBNET $FLANNEL_MTU; ip -4 -o addr show docker0 | awk \'{print $4}\'; docker run --rm flanprov-probe:1 cat /sys/class/net/eth0/mtu')) {
      const [active, env, d0, ctrMtu] = o.stdout.trim().split('\n');
      assert.equal(active, 'active', h);
      const [subnet, mtu] = env!.split(' ');
      assert.equal(d0, subnet, `${h}: docker0 on the flannel subnet`);
      assert.equal(mtu, '1450');
      assert.equal(ctrMtu, mtu, `${h}: container MTU = agent MTU`);
    }
  });

  it('NAT has one owner: a container on h2 sees the real source IP of a container on h1; to the outside it is masqueraded', async () => {
    const etcdIp = new URL(lab.etcdEndpoint().split(',')[0]!).hostname;
    const h1Ip = lab.hosts[0]!.ip;
    // No Docker MASQUERADE in POSTROUTING: only flanneld's chain.
    const nat = await lab.ssh('h1', 'iptables -t nat -S POSTROUTING');
    assert.doesNotMatch(nat.stdout, /-j MASQUERADE/, nat.stdout);
    assert.match(nat.stdout, /-j FLANNEL-POSTRTG/);
    const sink = await lab.ssh('h2', 'docker rm -f e2e-nat-sink >/dev/null 2>&1; docker run -d --name e2e-nat-sink --log-driver none --stop-timeout 0 flanprov-probe:1 sleep 120 >/dev/null && docker inspect -f "{{.NetworkSettings.IPAddress}}" e2e-nat-sink');
    const dst = sink.stdout.trim();
    assert.match(dst, /^10\.244\.\d+\.\d+$/, sink.stdout + sink.stderr);
    try {
      // tcpdump on h2's host (flannel.1: the decapsulated packet) and on h1's eth0 (the packet to the outside)
      const seenOnH2 = lab.ssh('h2', `timeout 10 tcpdump -c1 -nqli flannel.1 'icmp[icmptype] = icmp-echo and dst host ${dst}' 2>/dev/null`);
      const seenOnH1 = lab.ssh('h1', `timeout 10 tcpdump -c1 -nqli eth0 'icmp[icmptype] = icmp-echo and dst host ${etcdIp}' 2>/dev/null`);
      await new Promise((r) => setTimeout(r, 1500));
      const src = await lab.ssh('h1', `docker run --rm --log-driver none flanprov-probe:1 sh -c 'hostname -i; ping -c 8 -i 0.5 -W 1 ${dst} >/dev/null & ping -c 8 -i 0.5 -W 1 ${etcdIp} >/dev/null; wait'`);
      const srcIp = src.stdout.trim().split('\n')[0]!;
      assert.match(srcIp, /^10\.244\.\d+\.\d+$/, src.stdout + src.stderr);
      const h2 = await seenOnH2;
      assert.match(h2.stdout, new RegExp(`IP ${srcIp.replace(/\./g, '\\.')} > ${dst.replace(/\./g, '\\.')}:`), `pod→pod keeps its source: ${h2.stdout}`);
      const h1 = await seenOnH1;
      assert.match(h1.stdout, new RegExp(`IP ${h1Ip.replace(/\./g, '\\.')} > ${etcdIp.replace(/\./g, '\\.')}:`), `pod→outside is masqueraded by FLANNEL-POSTRTG: ${h1.stdout}`);
    } finally {
      await lab.ssh('h2', 'docker rm -f e2e-nat-sink >/dev/null 2>&1');
    }
  });

  it('a second up: zero files written, zero restarts, "no change"', async () => {
    const before = await lab.sshAll(UNIT_STATE);
    const r = await flanprov('up', lab.inventory, '--output', 'json');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    console.log(`no-change up: ${r.ms} ms (process included)`);
    const events = jsonEvents(r.stdout);
    checkSchema(events);
    assert.deepEqual(events.filter((e) => e.event === 'host.change'), []);
    const s = events.at(-1)!;
    assert.equal(s.event, 'summary');
    // every host named, each ok with no change (an empty host list would pass `every` vacuously)
    assert.deepEqual(s.hosts.map((h: any) => [h.host, h.status, h.changes.length]), lab.hosts.map((h) => [h.name, 'ok', 0]));
    assert.ok(events.some((e) => e.event === 'log' && /no change/.test(e.message)));
    // SSH requests per host and phase (issue 12.4): the lock's session, the facts script (which starts the
    // early probe too), one ping round whose session also removes the probe. A phase that adds an exec fails here.
    const trips = new Map<string, Record<string, number>>();
    for (const e of events) {
      if (e.event !== 'phase.end' || !e.roundTrips) continue;
      for (const [host, n] of Object.entries(e.roundTrips as Record<string, number>)) {
        if (n) trips.set(host, { ...trips.get(host), [e.phase]: n });
      }
    }
    const want = { 'Lock hosts': 1, 'Gather facts': 1, Verify: 1 };
    assert.deepEqual([...trips].sort(), lab.hosts.map((h) => [h.name, want]));
    const after = await lab.sshAll(UNIT_STATE);
    for (const h of lab.hosts) assert.deepEqual(parseUnitState(after.get(h.name)!.stdout), parseUnitState(before.get(h.name)!.stdout), h.name);
  });

  it('changing flannel_ip_masq rewrites only the agent unit and restarts only the agents', async () => {
    const before = await lab.sshAll(UNIT_STATE);
    const inv = lab.variant((i) => { i.all.vars.flannel_ip_masq = false; });
    const r = await flanprov('up', inv, '--output', 'json');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const changes = jsonEvents(r.stdout).filter((e) => e.event === 'host.change').map((e) => `${e.host}: ${e.change}`);
    for (const h of lab.hosts) {
      const mine = changes.filter((c) => c.startsWith(`${h.name}: `)).map((c) => c.slice(h.name.length + 2));
      assert.deepEqual(mine.filter((c) => / written$/.test(c)), ['/etc/systemd/system/flanneld.service written']);
      assert.ok(mine.some((c) => /^flanneld restarted \(unit changed\)/.test(c)), mine.join('; '));
      assert.ok(!mine.some((c) => /docker/.test(c)), mine.join('; '));
      const b = parseUnitState(before.get(h.name)!.stdout);
      const a = parseUnitState((await lab.ssh(h.name, UNIT_STATE)).stdout);
      assert.equal(a.docker, b.docker, `${h.name}: docker not restarted`);
      assert.notEqual(a.flanneld, b.flanneld, `${h.name}: flanneld restarted`);
    }
    const o = await lab.ssh('h1', 'systemctl show -p ExecStart --value flanneld');
    assert.match(o.stdout, /-ip-masq=false/);
  });

  it('a broken data path fails verification with exit 5 and names the pair and cause', async () => {
    const inv = lab.variant((i) => { i.all.vars.flannel_ip_masq = false; });
    await lab.ssh('h3', 'iptables -I INPUT -p udp --dport 8472 -j DROP');
    try {
      const r = await flanprov('up', inv);
      assert.equal(r.code, 5, r.stdout + r.stderr);
      assert.match(r.stdout, /h1 → h3/);
      assert.match(r.stdout, /h3 → h1/);
      assert.doesNotMatch(r.stdout, /h1 → h2/);
      assert.match(r.stdout, /packets lost between/);
    } finally {
      await lab.ssh('h3', 'iptables -D INPUT -p udp --dport 8472 -j DROP');
    }
    // The removal runs in the background on each host (the run does not wait for it): gone within seconds.
    const probes = await lab.sshAll('for i in $(seq 50); do [ "$(docker ps -aq --filter name=flanprov-probe | wc -l)" = 0 ] && break; sleep 0.1; done; docker ps -aq --filter name=flanprov-probe | wc -l');
    for (const [h, o] of probes) assert.equal(o.stdout.trim(), '0', `${h}: probe removed`);
  });

  it('after down, host-gw from nothing (own etcd prefix): ping matrix green, routes via peers', async () => {
    const d = await flanprov('down', '--yes', '-i', lab.inventory);
    assert.equal(d.code, 0, d.stdout + d.stderr);
    const inv = lab.variant((i) => { i.all.vars.flannel_backend = 'host-gw'; i.all.vars.flannel_etcd_prefix = '/e2e-hostgw/network'; });
    const r = await flanprov('up', inv);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    console.log(`host-gw up from nothing: ${r.ms} ms`);
    const o = await lab.ssh('h1', `ip -4 -o route show root 10.244.0.0/16 | grep -c 'via ${lab.hosts[1]!.ip.replace(/\./g, '\\.')} dev eth0'; ip -o link show type vxlan | wc -l; . /run/flannel/subnet.env; echo $FLANNEL_MTU`);
    assert.deepEqual(o.stdout.trim().split('\n'), ['1', '0', '1500']);
    const d2 = await flanprov('down', '--yes', '-i', inv);
    assert.equal(d2.code, 0, d2.stdout + d2.stderr);
  });
});
