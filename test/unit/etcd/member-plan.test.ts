import { test } from 'node:test';
import assert from 'node:assert/strict';
import { joinInitialCluster, planMembers, quorum, type DesiredMember, type LiveMember, type PlanInput } from '../../../src/etcd/member-plan.js';
import type { ClusterRecord } from '../../../src/etcd/cluster-record.js';

const C = 'c1a5';
const url = (n: string): string => `https://10.0.0.${n.slice(1)}:2380`;
const want = (name: string, data: DesiredMember['data'] = { kind: 'wal', clusterId: C, memberId: `${name}id` }, active = true): DesiredMember =>
  ({ name, peerUrl: url(name), dataDir: '/var/lib/etcd/flanprov', data, active });
const live = (name: string, healthy = true): LiveMember => ({ id: `${name}id`, name, peerUrls: [url(name)], healthy });
const record: ClusterRecord = { version: 1, token: 't', clusterId: C, members: ['h1', 'h2', 'h3'].map((n) => ({ name: n, id: `${n}id`, peerUrl: url(n) })), updatedAt: '' };
const base = (o: Partial<PlanInput>): PlanInput => ({ desired: [], allowRemove: false, recordPath: '/inv/inventory.etcd-pki/cluster.json', record, ...o });
const none = { kind: 'absent' } as const;
const running = (...names: string[]): PlanInput['live'] => ({ clusterId: C, members: names.map((n) => live(n)) });

test('quorum', () => {
  assert.deepEqual([1, 2, 3, 4, 5].map(quorum), [1, 2, 2, 3, 3]);
});

test('nothing recorded, no data anywhere: bootstrap every member at once', () => {
  const p = planMembers({ desired: ['h1', 'h2', 'h3'].map((n) => want(n, none, false)), allowRemove: false, recordPath: 'r' });
  assert.deepEqual(p, { kind: 'bootstrap', steps: [{ op: 'bootstrap', members: ['h1', 'h2', 'h3'] }], refusals: [], warnings: [] });
});

test('a bootstrap over an existing data dir is refused, naming the host and the path', () => {
  const p = planMembers({ desired: [want('h1', none, false), want('h2', { kind: 'wal', clusterId: 'beef', memberId: '42' }, false)], allowRemove: false, recordPath: '/inv/x.etcd-pki/cluster.json' });
  assert.deepEqual(p.steps, []);
  assert.equal(p.refusals.length, 1);
  assert.match(p.refusals[0]!, /^h2: \/var\/lib\/etcd\/flanprov holds the data of etcd cluster beef \(member 42\).*bootstrapping a new cluster over it is refused/);
  assert.match(p.warnings[0]!, /2 members/);
});

test('an unfinished bootstrap resumes with the same members (their data is ours), and refuses another group', () => {
  const pending: ClusterRecord = { ...record, clusterId: '', members: record.members.map((m) => ({ ...m, id: '' })) };
  const d = [want('h1', { kind: 'wal', clusterId: 'x', memberId: '1' }), want('h2', none, false), want('h3', { kind: 'wal', clusterId: 'x', memberId: '3' })];
  assert.deepEqual(planMembers(base({ record: pending, desired: d })).steps, [{ op: 'bootstrap', members: ['h1', 'h2', 'h3'] }]);
  const p = planMembers(base({ record: pending, desired: [...d, want('h4', none, false)] }));
  assert.match(p.refusals.join('\n'), /a bootstrap of h1, h2, h3 was started .* did not finish/);
});

test('converged: no step', () => {
  const p = planMembers(base({ desired: ['h1', 'h2', 'h3'].map((n) => want(n)), live: running('h1', 'h2', 'h3') }));
  assert.deepEqual([p.steps, p.refusals], [[], []]);
});

test('a stopped member with its data is started, even when the cluster has no quorum', () => {
  const desired = [want('h1'), want('h2'), want('h3', undefined, false)];
  assert.deepEqual(planMembers(base({ desired, live: { clusterId: C, members: [live('h1'), live('h2'), live('h3', false)] } })).steps, [{ op: 'start', member: 'h3' }]);
  const all = planMembers(base({ desired: desired.map((d) => ({ ...d, active: false })) }));
  assert.deepEqual(all.steps.map((s) => s.op === 'start' && s.member), ['h1', 'h2', 'h3']);
});

test('a host new to the group joins (member add, then start); a member whose data dir is gone rejoins', () => {
  const p = planMembers(base({ desired: [want('h1'), want('h2'), want('h3', none, false), want('h4', none, false)], live: { clusterId: C, members: [live('h1'), live('h2'), live('h3', false)] } }));
  assert.deepEqual(p.refusals, []);
  assert.deepEqual(p.steps, [{ op: 'join', member: 'h3', removeId: 'h3id' }, { op: 'join', member: 'h4' }]);
});

test('data of our cluster but of a member it no longer has: set aside, then joined', () => {
  const p = planMembers(base({ desired: [want('h1'), want('h2'), want('h3'), want('h4', { kind: 'wal', clusterId: C, memberId: 'gone' }, false)], live: running('h1', 'h2', 'h3') }));
  assert.deepEqual(p.steps, [{ op: 'join', member: 'h4', setAside: true }]);
});

test('a data dir of another cluster is refused (never started, never joined over)', () => {
  const p = planMembers(base({ desired: [want('h1'), want('h2'), want('h3'), want('h4', { kind: 'wal', clusterId: 'other', memberId: '9' }, false)], live: running('h1', 'h2', 'h3') }));
  assert.deepEqual(p.steps, []);
  assert.match(p.refusals[0]!, /^h4: \/var\/lib\/etcd\/flanprov holds the data of another etcd cluster \(other, member 9; this one is c1a5\)/);
});

test('removing a member: refused without --yes; with it, removed', () => {
  const inp = base({ desired: [want('h1'), want('h2')], live: running('h1', 'h2', 'h3') });
  assert.match(planMembers(inp).refusals[0]!, /^h3 \(https:\/\/10\.0\.0\.3:2380\) is a member of the etcd cluster but not in the etcd group: removing it needs `--yes`/);
  assert.deepEqual(planMembers({ ...inp, allowRemove: true }).steps, [{ op: 'remove', member: 'h3', id: 'h3id' }]);
});

test('never a removal that would cost the quorum (judged on the health of now, not after this run\'s starts)', () => {
  const p = planMembers(base({ desired: [want('h1'), want('h2', undefined, false)], live: { clusterId: C, members: [live('h1'), live('h2', false), live('h3')] }, allowRemove: true }));
  assert.deepEqual(p.steps, []);
  assert.match(p.refusals[0]!, /^removing h3 would leave 1 healthy member\(s\) of 2, below its quorum of 2: etcd would stop serving \(not healthy now: h2\)/);
});

test('a join that would cost the quorum is refused too; an unhealthy member is removed before a join', () => {
  const sick = base({ desired: [want('h1'), want('h2'), want('h3', undefined, false), want('h4', none, false)], live: { clusterId: C, members: [live('h1'), live('h2', false), live('h3', false)] } });
  assert.match(planMembers(sick).refusals.join('\n'), /adding h4 would leave 1 healthy member\(s\) of 4, below its quorum of 3/);
  const swap = planMembers(base({ desired: [want('h1'), want('h2'), want('h4', none, false)], live: { clusterId: C, members: [live('h1'), live('h2'), live('h3', false)] }, allowRemove: true }));
  assert.deepEqual(swap.steps, [{ op: 'remove', member: 'h3', id: 'h3id' }, { op: 'join', member: 'h4' }]);
});

test('membership changes need a cluster that answers', () => {
  const p = planMembers(base({ desired: [want('h1', undefined, false), want('h2', undefined, false), want('h3', undefined, false), want('h4', none, false)] }));
  assert.match(p.refusals[0]!, /does not answer .* \(add h4\)/);
});

test('a record of another cluster than the one that answers is refused', () => {
  const p = planMembers(base({ desired: [want('h1')], live: { clusterId: 'f00', members: [live('h1')] } }));
  assert.match(p.refusals[0]!, /answers is f00, but .* records cluster c1a5/);
});

test('ETCD_INITIAL_CLUSTER of a joiner, from the member list after member add', () => {
  assert.equal(joinInitialCluster([
    { id: '1', name: 'h1', peerUrls: ['https://a:2380'] }, { id: '2', name: 'h2', peerUrls: ['https://b:2380'] }, { id: '9', name: '', peerUrls: ['https://d:2380'] },
  ], '9', 'h4'), 'h1=https://a:2380,h2=https://b:2380,h4=https://d:2380');
});
