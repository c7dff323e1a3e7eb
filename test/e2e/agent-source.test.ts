/**
 * e2e: how the agent reaches hosts (issue 12.1-12.2) on a real 3-host lab. The lab's hosts are minimal
 * Debian (gzip, no xz, no curl or wget); h1 (and for peers h2) get the machine's own xz, so both kinds of
 * host are in every run:
 * - push, auto: the prebuilt dist/flanneld.xz to the host with xz, dist/flanneld.gz to the others;
 * - peers: the controller sends one copy (to the seed, which has xz), the others copy from hosts (plain; with
 *   flannel_agent_peer_compression xz where they can decode it), every server stopped and its copy removed afterwards;
 * - auto (the default): peers for 3 hosts, and a host whose copy from a peer is blocked (iptables DROP) is pushed
 *   to instead, within the connect timeout;
 * - url: a mirror and a proxy on the lab's underlay (mirror.ts): .xz, .gz and through flannel_agent_proxy,
 *   fetched by bash's /dev/tcp (no curl/wget on the hosts) and by busybox wget; a mirror holding another
 *   build is refused (exit 4) and the old agent keeps running.
 * Each case first replaces the installed agent with other bytes, so it must be delivered again.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Lab, ROOT, LABS, flanprov, jsonEvents, sh } from './up-helpers.js';
import { Mirror } from './mirror.js';

const manifest = JSON.parse(readFileSync(join(ROOT, 'dist/flanneld.json'), 'utf8')) as { sha256: string; bytes: number };
const AGENT = '/usr/local/bin/flanneld';

describe('agent sources and encodings (3-host lab)', { timeout: 900_000 }, () => {
  let lab: Lab;
  let mirror: Mirror | undefined;

  /** Copies this machine's xz (same Debian, liblzma is on the hosts) into a host. */
  const giveXz = async (host: string): Promise<void> => {
    const h = lab.hosts.find((x) => x.name === host)!;
    const dir = join(LABS, lab.name, 'ssh');
    const r = await sh('bash', ['-c', `ssh -i ${dir}/id_ed25519 -o UserKnownHostsFile=${dir}/known_hosts -o BatchMode=yes root@${h.ip} 'cat > /usr/local/bin/xz && chmod 755 /usr/local/bin/xz && xz --version' < /usr/bin/xz`]);
    assert.equal(r.code, 0, r.stderr);
  };
  /** Another binary in place of the agent (a new inode: the running agent keeps its own), so up delivers it again. */
  const staleAgents = async (): Promise<void> => {
    for (const [h, o] of await lab.sshAll(`rm -f ${AGENT} && printf 'not the agent' > ${AGENT} && chmod 755 ${AGENT}`)) assert.equal(o.code, 0, `${h}: ${o.stderr}`);
  };
  const shas = async (): Promise<Record<string, string>> => {
    const out = await lab.sshAll(`sha256sum ${AGENT} | cut -d' ' -f1`);
    return Object.fromEntries([...out].map(([h, o]) => [h, o.stdout.trim()]));
  };
  const everyHost = (v: string) => Object.fromEntries(lab.hosts.map((h) => [h.name, v]));
  const pushChanges = (events: Record<string, any>[]): Record<string, string> =>
    Object.fromEntries(events.filter((e) => e.event === 'host.change' && e.phase === 'Push agent').map((e) => [e.host, e.change]));
  const up = async (inv: string) => {
    const r = await flanprov('up', inv, '--output', 'json', '-v');
    return { ...r, events: jsonEvents(r.stdout) };
  };

  before(async () => {
    lab = await Lab.up('src');
    await giveXz('h1');
  });
  after(async () => {
    await mirror?.stop();
    await lab?.down();
  });

  it('push (auto): xz to the host that has xz, gzip to the others; each host has this build', async () => {
    const r = await up(lab.variant((i) => { i.all.vars.flannel_agent_source = 'push'; }));
    assert.equal(r.code, 0, r.stdout.slice(-3000) + r.stderr);
    const c = pushChanges(r.events);
    assert.match(c.h1!, /\(24\.\d MB xz, /, c.h1);
    assert.match(c.h2!, /\(3\d\.\d MB gzip: no xz on the host, /, c.h2);
    assert.match(c.h3!, /gzip/, c.h3);
    assert.deepEqual(await shas(), everyHost(manifest.sha256));
  });

  it('peers, flannel_agent_peer_compression: one copy from the controller, the others from hosts (xz where they decode it); servers stopped, copies removed', async () => {
    await giveXz('h2');
    await staleAgents();
    const inv = lab.variant((i) => { i.all.vars.flannel_agent_source = 'peers'; i.all.vars.flannel_agent_peer_compression = true; });
    const r = await up(inv);
    assert.equal(r.code, 0, r.stdout.slice(-3000) + r.stderr);
    const c = pushChanges(r.events);
    const pushed = Object.entries(c).filter(([, v]) => /pushed to/.test(v));
    assert.deepEqual(pushed.map(([h]) => h), ['h1'], JSON.stringify(c));
    assert.match(c.h1!, /MB xz/);
    assert.match(c.h2!, /copied from h1 to \/usr\/local\/bin\/flanneld \(xz, /, c.h2);
    assert.match(c.h3!, /copied from h[12] to \/usr\/local\/bin\/flanneld \(plain, /, c.h3);
    assert.deepEqual(await shas(), everyHost(manifest.sha256));
    for (const [h, o] of await lab.sshAll('systemctl is-active flanprov-agent-serve.service; ls /run/flanprov/agent-serve 2>&1 | head -1')) {
      assert.match(o.stdout, /^(inactive|unknown)\n.*No such file/s, `${h}: ${o.stdout}`);
    }
    // the seed's server log: what it served, and to whom
    const log = await lab.ssh('h1', 'journalctl -u flanprov-agent-serve.service -o cat | grep GET');
    assert.match(log.stdout, /GET \/flanneld(\.xz)?: 99683456 bytes|GET \/flanneld(\.xz)?: \d+ bytes/);
  });

  it('auto (the default): peers; a host whose firewall drops the serve port is pushed to by the controller within seconds, and says why', async () => {
    await staleAgents();
    // h3's packets to the serve port vanish (DROP: no answer at all, the worst case for a connect)
    const rule = 'OUTPUT -p tcp --dport 8473 -j DROP';
    const block = await lab.ssh('h3', `iptables -I ${rule}`);
    assert.equal(block.code, 0, block.stderr);
    try {
      const r = await up(lab.inventory);
      assert.equal(r.code, 0, r.stdout.slice(-3000) + r.stderr);
      const c = pushChanges(r.events);
      assert.match(c.h1!, /pushed to/, c.h1);
      assert.match(c.h3!, /pushed to/, c.h3);
      // by default the hosts copy the plain binary between them (decoding costs more than the LAN saves)
      assert.match(c.h2!, /copied from h1 to \/usr\/local\/bin\/flanneld \(plain, /, c.h2);
      for (const h of ['h1', 'h2', 'h3']) {
        assert.ok(r.events.some((e) => e.event === 'log' && e.host === h && /^agent source auto: peers \(3 hosts need the agent/.test(e.message)), `${h}: the -v line naming the source`);
      }
      const why = r.events.find((e) => e.event === 'log' && e.host === 'h3' && /copying the agent from h[12] .* failed: .*cannot connect to .*:8473 within 3 s.*pushing from the controller/.test(e.message));
      assert.ok(why, JSON.stringify(r.events.filter((e) => e.host === 'h3')));
      // the connect timeout, not the kernel's SYN retries (~2 min), bounds the detour
      const push = r.events.find((e) => e.event === 'phase.end' && e.phase === 'Push agent')!;
      assert.ok(push.ms < 60_000, `Push agent took ${push.ms} ms`);
      assert.deepEqual(await shas(), everyHost(manifest.sha256));
    } finally {
      await lab.ssh('h3', `iptables -D ${rule}`);
    }
  });

  it('url: .xz, .gz and through flannel_agent_proxy, by bash /dev/tcp and by busybox wget; sha256 checked', async () => {
    const other = join(mkdtempSync(join(tmpdir(), 'fp-mirror-')), 'other.gz');
    writeFileSync(other, gzipSync(readFileSync('/usr/bin/xz')));
    mirror = await Mirror.start(lab, {
      '/flanprov/flanneld.xz': join(ROOT, 'dist/flanneld.xz'),
      '/flanprov/flanneld.gz': join(ROOT, 'dist/flanneld.gz'),
      '/old/flanneld.gz': other,
    });
    await staleAgents();
    // h2 fetches with wget (busybox's, as small images have it), the others with bash's /dev/tcp
    const wget = await lab.ssh('h2', 'ln -sf /usr/bin/busybox /usr/local/bin/wget');
    assert.equal(wget.code, 0, wget.stderr);
    try {
      const inv = lab.variant((i) => {
        i.all.vars.flannel_agent_source = 'url';
        i.all.vars.flannel_agent_url = mirror!.url('/flanprov/flanneld.gz');
        i.all.children.nodes.hosts.h1.flannel_agent_url = mirror!.url('/flanprov/flanneld.xz');
        i.all.children.nodes.hosts.h3.flannel_agent_proxy = mirror!.proxy;
      });
      const r = await up(inv);
      assert.equal(r.code, 0, r.stdout.slice(-3000) + r.stderr);
      const c = pushChanges(r.events);
      assert.match(c.h1!, /downloaded from http:\/\/198\.18\.\d+\.200:8080\/flanprov\/flanneld\.xz .*\(xz, /, c.h1);
      assert.match(c.h2!, /downloaded from .*flanneld\.gz .*\(gzip, /, c.h2);
      assert.match(c.h3!, /downloaded from .*flanneld\.gz/, c.h3);
      assert.deepEqual(await shas(), everyHost(manifest.sha256));
      const h3ip = lab.hosts.find((h) => h.name === 'h3')!.ip;
      assert.ok(mirror.requests.some((q) => q.server === 'proxy' && q.from.endsWith(h3ip) && q.url === mirror!.url('/flanprov/flanneld.gz')), JSON.stringify(mirror.requests));
      assert.ok(!mirror.requests.some((q) => q.server === 'mirror' && q.from.endsWith(h3ip)), 'h3 went through the proxy');
    } finally {
      await lab.ssh('h2', 'rm -f /usr/local/bin/wget');
    }
  });

  it('url: a mirror holding another build is refused (exit 4, names the URL and the sha256 to put there); the agent keeps running', async () => {
    await staleAgents();
    const inv = lab.variant((i) => {
      i.all.vars.flannel_agent_source = 'url';
      i.all.vars.flannel_agent_url = mirror!.url('/old/flanneld.gz');
    });
    const r = await up(inv);
    assert.equal(r.code, 4, r.stdout.slice(-3000) + r.stderr);
    const err = r.events.find((e) => e.event === 'error')!;
    assert.match(JSON.stringify(r.events), /downloading the agent from http:\/\/.*\/old\/flanneld\.gz failed; the old file is untouched/);
    assert.ok(err, 'an error event');
    assert.match(JSON.stringify(r.events), new RegExp(`the mirror holds another build.*${manifest.sha256}`));
    for (const [h, o] of await lab.sshAll(`cat ${AGENT}; echo; systemctl is-active flanneld`)) assert.deepEqual(o.stdout.trim().split('\n'), ['not the agent', 'active'], h);
  });
});
