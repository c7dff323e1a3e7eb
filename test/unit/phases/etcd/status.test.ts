import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatMemberRows, memberRows, quorumProblems } from '../../../../src/phases/etcd/status.js';

const group = ['h1', 'h2', 'h3'].map((n, i) => ({ name: n, peerUrl: `https://10.0.0.${i + 1}:2380`, clientUrl: `https://10.0.0.${i + 1}:2379` }));
const list = group.map((g, i) => ({ id: `${i + 1}a`, name: g.name, peerUrls: [g.peerUrl], clientUrls: [g.clientUrl] }));
const st = (id: string) => ({ memberId: id, clusterId: 'c', version: '3.4.23', dbSizeBytes: 20480, leader: '2a', raftTerm: '2', raftIndex: '15', errors: [] });

test('the member table: leader, health, DB size, in the group\'s order', () => {
  const rows = memberRows(group, [...list].reverse(), new Map([['h1', { healthy: true, ms: 3 }], ['h2', { healthy: true, ms: 4 }], ['h3', { healthy: false, error: 'etcd.service is inactive', ms: 0 }]]),
    new Map([['h1', st('1a')], ['h2', st('2a')]]));
  assert.deepEqual(rows.map((r) => [r.member, r.leader, r.health, r.dbSize]), [
    ['h1', '', 'healthy (3 ms)', '20 KiB'], ['h2', 'leader', 'healthy (4 ms)', '20 KiB'], ['h3', '', 'UNHEALTHY: etcd.service is inactive', '-'],
  ]);
  assert.match(formatMemberRows(rows).split('\n')[0]!, /^MEMBER\s+ID\s+PEER URL\s+CLIENT URL\s+LEADER\s+HEALTH\s+DB SIZE\s+VERSION\s+RAFT INDEX$/);
  assert.deepEqual(quorumProblems(rows), [
    'etcd member h3 (https://10.0.0.3:2379): UNHEALTHY: etcd.service is inactive',
    'quorum kept: 2 of 3 members healthy (quorum 2); one more failure stops etcd',
  ]);
});

test('quorum lost; a group host that is not a member; all healthy is no problem', () => {
  const down = memberRows(group, list, new Map([['h1', { healthy: true, ms: 1 }]]), new Map());
  assert.match(quorumProblems(down).at(-1)!, /^QUORUM LOST: 1 of 3 members healthy \(quorum 2\)/);
  const missing = memberRows([...group, { name: 'h4', peerUrl: 'p', clientUrl: 'c' }], list, new Map(group.map((g) => [g.name, { healthy: true, ms: 1 }])), new Map());
  assert.equal(missing.at(-1)!.health, 'NOT A MEMBER (run flanprov up)');
  assert.equal(quorumProblems(memberRows(group, list, new Map(group.map((g) => [g.name, { healthy: true, ms: 1 }])), new Map())).length, 0);
});
