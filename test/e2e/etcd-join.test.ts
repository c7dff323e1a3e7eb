/**
 * e2e: membership of an etcd flanprov runs, on a 4-host lab: a bootstrap over another cluster's data dir is
 * refused naming the host (exit 2, nothing changed); a 4th host added to `etcd` and `nodes` joins as a
 * member and as a node while nothing restarts elsewhere — and is refused while it holds another cluster's
 * data; a member whose data dir is gone rejoins as a new member.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Lab, flanprov, jsonEvents, parseUnitState } from './up-helpers.js';
import { ALL_UNITS_STATE, etcdctl, makeForeignDataDir, writeManaged } from './etcd-helpers.js';

const THREE = ['h1', 'h2', 'h3'];
const FOUR = [...THREE, 'h4'];

describe('etcd membership (4-host lab)', { timeout: 420_000 }, () => {
  let lab: Lab;
  /** `member list` in etcdctl's simple format: hex IDs (its JSON has them as numbers beyond 2^53) */
  const members = async (): Promise<{ name: string; id: string }[]> =>
    (await etcdctl(lab, ['h1'], ['member', 'list'])).stdout.trim().split('\n').map((l) => { const [id, , name] = l.split(', '); return { id: id!, name: name! }; });
  const nothingInstalled = async (hosts: string[]): Promise<void> => {
    for (const h of hosts) {
      const o = await lab.ssh(h, 'for f in /etc/systemd/system/etcd.service /etc/systemd/system/flanneld.service /usr/local/bin/etcd /usr/local/bin/flanneld /etc/etcd/pki; do [ -e $f ] && echo $f; done; true');
      assert.equal(o.stdout.trim(), '', `${h}: ${o.stdout}`);
    }
  };

  before(async () => { lab = await Lab.up('ejoin', ['--hosts', '4', '--no-etcd']); });
  after(async () => { await lab?.down(); });

  it('a bootstrap over a data dir of another cluster is refused, naming the host and the dir; nothing changed', async () => {
    await makeForeignDataDir(lab, 'h2');
    const r = await flanprov('up', writeManaged(lab, THREE, { nodes: THREE }));
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout + r.stderr, /h2: \/var\/lib\/etcd\/flanprov holds the data of etcd cluster [0-9a-f]+ \(member [0-9a-f]+\).*bootstrapping a new cluster over it is refused/);
    assert.doesNotMatch(r.stdout + r.stderr, /h1: \/var\/lib\/etcd/);
    await nothingInstalled(FOUR);
    await lab.ssh('h2', 'mv /var/lib/etcd/flanprov /var/lib/etcd/foreign-moved-away');
    const ok = await flanprov('up', writeManaged(lab, THREE, { nodes: THREE }));
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.deepEqual((await members()).map((m) => m.name).sort(), THREE);
  });

  it('a 4th host with another cluster\'s data is refused; once clean, it joins as a member and a node, nothing restarts elsewhere', async () => {
    await makeForeignDataDir(lab, 'h4');
    const refused = await flanprov('up', writeManaged(lab, FOUR, { nodes: FOUR }));
    assert.equal(refused.code, 2, refused.stdout + refused.stderr);
    assert.match(refused.stdout + refused.stderr, /h4: \/var\/lib\/etcd\/flanprov holds the data of another etcd cluster/);
    await lab.ssh('h4', 'rm -rf /var/lib/etcd/flanprov');
    const before = new Map(await Promise.all(THREE.map(async (h) => [h, parseUnitState((await lab.ssh(h, ALL_UNITS_STATE)).stdout)] as const)));
    const r = await flanprov('up', writeManaged(lab, FOUR, { nodes: FOUR }), '--output', 'json');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const events = jsonEvents(r.stdout);
    const m = events.find((e) => e.event === 'verify.matrix')!;
    assert.deepEqual(m.hosts, FOUR);
    m.cells.forEach((row: any[], i: number) => row.forEach((c, j) => (i === j ? assert.equal(c, null) : assert.ok(c.ok && c.mtuOk, `${i}->${j}`))));
    assert.ok(events.some((e) => e.event === 'log' && /member add h4/.test(e.message)));
    for (const h of THREE) {
      assert.deepEqual(parseUnitState((await lab.ssh(h, ALL_UNITS_STATE)).stdout), before.get(h), `${h}: etcd, flanneld and docker not restarted`);
    }
    assert.deepEqual((await members()).map((x) => x.name).sort(), FOUR);
    const health = await etcdctl(lab, FOUR, ['endpoint', 'health']);
    assert.equal((health.stdout + health.stderr).match(/is healthy/g)?.length, 4, health.stdout + health.stderr);
    const o = await lab.ssh('h4', 'systemctl is-active etcd flanneld');
    assert.equal(o.stdout.trim(), 'active\nactive');
    // a second run: nothing to do
    const again = await flanprov('up', writeManaged(lab, FOUR, { nodes: FOUR }), '--output', 'json');
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.deepEqual(jsonEvents(again.stdout).filter((e) => e.event === 'host.change'), []);
  });

  it('a member whose data dir is gone rejoins (member remove + add)', async () => {
    const old = (await members()).find((x) => x.name === 'h2')!.id;
    await lab.ssh('h2', 'systemctl stop etcd && rm -rf /var/lib/etcd/flanprov');
    const r = await flanprov('up', writeManaged(lab, FOUR, { nodes: FOUR }));
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`removed h2's old member entry ${old}`));
    const now = await members();
    assert.deepEqual(now.map((x) => x.name).sort(), FOUR);
    assert.notEqual(now.find((x) => x.name === 'h2')!.id, old);
    const health = await etcdctl(lab, FOUR, ['endpoint', 'health']);
    assert.equal((health.stdout + health.stderr).match(/is healthy/g)?.length, 4, health.stdout + health.stderr);
  });
});
