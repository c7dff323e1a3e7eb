/**
 * e2e (issue 9.2): `up --adopt` on a hand-built cluster. "Hand-built" = our agent binary started the way
 * the flannel tutorials start flanneld, with `-etcd-prefix=/docker-test/network`: h1 from a shell
 * (`nohup /opt/flannel/flanneld ... &`), h2 by a hand-written flanneld.service running /opt/flannel/flanneld,
 * h3 from a shell as /usr/local/bin/flanneld-amd64. Docker is left as the lab made it (the Docker sources
 * are up.test.ts's). `adopt --write-inventory` describes the cluster (issue 9.3), and the tests after it use
 * that inventory. Without --adopt: refused naming each old agent, nothing changed. With it, h1 alone first
 * (`--limit h1`: a mixed cluster for a while, issue 9.5), then the others: hosts in a namespace of their
 * flannel subnet ping each other every 10 ms through both takeovers and lose nothing, subnets unchanged,
 * the old agents gone (process, unit), a second `up` changes nothing.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { Lab, LABS, ROOT, flanprov, jsonEvents, sh } from './up-helpers.js';
import { loadInventory } from '../../src/inventory/load.js';
import { connectHost } from '../../src/remote/connection.js';
import type { RemoteHost } from '../../src/remote/types.js';
import { parseSubnetEnv } from '../../src/network/subnet-env.js';
import { Measurement, type MeasureResult } from '../../src/measure/session.js';

const PREFIX = '/docker-test/network';

function printMeasure(label: string, m: MeasureResult): void {
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  process.stdout.write(`# ${label}: ${m.totalLost} of ${m.totalSent} lost, longest gap ${m.worst?.longestGapMs ?? 0} ms (load ${load})\n`);
  for (const p of m.pairs) process.stdout.write(`#   ${p.from} → ${p.to}: sent ${p.sent}, lost ${p.lost}, longest gap ${p.longestGapMs} ms, max silence ${p.maxSilenceMs} ms\n`);
}

describe('up --adopt: a hand-built cluster taken over (3-host lab)', { concurrency: false, timeout: 900_000 }, () => {
  let lab: Lab;
  let inv: string;
  let remotes: RemoteHost[] = [];
  let ipMasq = true;
  const ep = () => lab.etcdEndpoint();

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

  const subnets = async () => Promise.all(lab.hosts.map(async (h) => (await lab.ssh(h.name, 'grep ^FLANNEL_SUBNET= /run/flannel/subnet.env')).stdout.trim()));

  before(async () => {
    assert.equal(process.getuid?.(), 0, 'the lab e2e tests need root');
    lab = await Lab.up('adp', ['--hosts', '3']);
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
    const spec = loadInventory(inv);
    remotes = await Promise.all(spec.hosts.map((h) => connectHost(h.name, h.connection)));
  });

  after(async () => {
    await Promise.all(remotes.map((o) => o.close().catch(() => undefined)));
    await lab?.down();
  });

  it('without --adopt: refused (exit 2) naming every old agent, nothing changed', async () => {
    const before = await subnets();
    const r = await flanprov('up', inv, '--output', 'json');
    assert.equal(r.code, 2, r.stdout.slice(-3000) + r.stderr);
    const text = r.stdout + r.stderr;
    assert.match(text, /h1: a flanneld not installed by flanprov is running: pid \d+ \/opt\/flannel\/flanneld \(no unit: started from a shell\)/);
    assert.match(text, /h2: a flanneld not installed by flanprov is running: pid \d+ \/opt\/flannel\/flanneld \(unit flanneld\.service\)/);
    assert.match(text, /h3: .*\/usr\/local\/bin\/flanneld-amd64 \(no unit/);
    assert.match(text, /--adopt/);
    const summary = jsonEvents(r.stdout).at(-1)!;
    assert.deepEqual(summary.hosts.map((h: any) => [h.host, h.status]), lab.hosts.map((h) => [h.name, 'failed']), JSON.stringify(summary));
    assert.deepEqual(await subnets(), before);
    const unit = await lab.ssh('h2', 'head -n2 /etc/systemd/system/flanneld.service; ls /usr/local/bin/flanneld 2>&1');
    assert.match(unit.stdout, /Description=flannel \(by hand\)/);
    assert.match(unit.stdout + unit.stderr, /No such file/, 'no agent pushed');
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

  it('--adopt, one host first (--limit h1) then the rest: no ping lost between the hosts, subnets kept, old agents gone; a second up changes nothing', async () => {
    const before = await subnets();
    const m = await Measurement.start(remotes.map((o, i) => ({ name: lab.hosts[i]!.name, remote: o, subnet: parseSubnetEnv(before[i]!).subnet! })), { intervalMs: 10, maxSeconds: 300 });
    let result: MeasureResult;
    let first;
    let r;
    try {
      // one host first (issue 9.5): a mixed cluster, h1 run by flanprov, h2 and h3 still by hand, one etcd
      first = await flanprov('up', inv, '--adopt', '--limit', 'h1', '--output', 'json');
      assert.equal(first.code, 0, first.stdout.slice(-4000) + first.stderr);
      const mixed = await lab.sshAll('pgrep -f "^/opt/flannel/[f]lanneld|[f]lanneld-amd64" >/dev/null && echo by-hand || echo flanprov');
      assert.deepEqual([...mixed].map(([h, o]) => `${h}: ${o.stdout.trim()}`), ['h1: flanprov', 'h2: by-hand', 'h3: by-hand']);
      await new Promise((res) => setTimeout(res, 1000));
      r = await flanprov('up', inv, '--adopt', '--output', 'json');
      await new Promise((res) => setTimeout(res, 1000));
    } finally {
      result = await m.stop();
    }
    printMeasure('adoption of 3 hand-built hosts, h1 alone first (--limit h1), then h2 and h3', result);
    assert.equal(r.code, 0, r.stdout.slice(-4000) + r.stderr);
    assert.deepEqual(jsonEvents(r.stdout).filter((e) => e.event === 'host.change' && e.host === 'h1' && /flanneld|agent/.test(e.change)).map((e) => e.change), [], 'h1 is not taken over twice');
    assert.equal(result.totalLost, 0, 'no ping lost');
    assert.deepEqual(await subnets(), before, 'every host kept its subnet');
    const gone = await lab.sshAll('pgrep -f "^/opt/flannel/[f]lanneld|[f]lanneld-amd64" || echo none; systemctl show -p ExecStart --value flanneld.service | grep -o "path=[^ ;]*"; head -n1 /etc/systemd/system/flanneld.service');
    for (const [h, o] of gone) {
      assert.match(o.stdout, /^none$/m, `${h}: the old agent still runs: ${o.stdout}`);
      assert.match(o.stdout, /path=\/usr\/local\/bin\/flanneld$/m, `${h}: ours runs: ${o.stdout}`);
      assert.match(o.stdout, /# Written by flanprov/);
    }
    const bak = await lab.ssh('h2', 'head -n2 /etc/systemd/system/flanneld.service.flanprov-bak');
    assert.match(bak.stdout, /by hand/, 'the hand-written unit kept as a backup');
    const again = await flanprov('up', inv, '--adopt', '--output', 'json');
    assert.equal(again.code, 0, again.stdout.slice(-3000));
    const events = jsonEvents(again.stdout);
    assert.deepEqual(events.filter((e) => e.event === 'host.change').map((e) => `${e.host}: ${e.change}`), [], 'second up: no change');
  });
});
