import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDataDir, parseEtcdVersion, parseMemberFacts, upstreamVersion } from '../../../../src/phases/etcd/member-facts.js';

const WAL = 'BAAAAAAAAIQIBBAAAAAAAB8AAAAAAACBCAEQ5OeZrgMaFQir5d6/mN2D8i8QzLujkeSz9JeUAQANAAAAAAAAgwgFENa4jgIaBAgAEAAAAAA=';

test('parsing: binaries with version, package, unit, files with owner, data dir, listeners', () => {
  const sha = 'a'.repeat(64);
  const out = [
    '::fp:: uname', 'x86_64', '::fp:: pid1', 'systemd',
    '::fp:: etcd_bin /usr/local/bin/etcd', sha, 'etcd Version: 3.4.23',
    '::fp:: etcd_bin /usr/bin/etcd',
    '::fp:: etcd_pkg', 'deinstall ok config-files 3.4.23-4+b4',
    '::fp:: etcd_candidate', '(none)',
    '::fp:: etcd_unit', 'LoadState=loaded', 'ActiveState=active', 'MainPID=42', 'UnitFileState=enabled', 'ActiveEnterTimestampMonotonic=123', 'NRestarts=0',
    `::fp:: file /etc/etcd/pki/server-key.pem`, `${sha} 600:etcd `,
    '::fp:: etcd_data', 'member ', WAL,
    '::fp:: etcd_listen', 'LISTEN 0 4096 198.18.1.11:2379 0.0.0.0:* users:(("etcd",pid=42,fd=7))',
    '::fp:: etcd_user', 'yes',
  ].join('\n');
  const f = parseMemberFacts(out);
  assert.deepEqual([...f.binaries], [['/usr/local/bin/etcd', { sha256: sha, version: '3.4.23' }]]);
  assert.equal(f.packageVersion, undefined, 'removed but not purged is not installed');
  assert.equal(f.packageCandidate, undefined);
  assert.equal(f.unit?.active, 'active');
  assert.deepEqual(f.files.get('/etc/etcd/pki/server-key.pem'), { sha256: sha, mode: 0o600, owner: 'etcd', content: '' });
  assert.deepEqual(f.data, { kind: 'wal', memberId: (3450899610643968683n).toString(16), clusterId: (10677983719163747788n).toString(16) });
  assert.equal(f.listeners.length, 1);
  assert.equal(f.etcdUser, true);
});

test('data dir states; versions', () => {
  assert.deepEqual(parseDataDir(undefined), { kind: 'absent' });
  assert.deepEqual(parseDataDir(''), { kind: 'absent' });
  assert.deepEqual(parseDataDir('lost+found \n'), { kind: 'unknown', detail: 'holds lost+found but no member/wal/*.wal' });
  assert.equal(parseEtcdVersion('etcd Version: 3.4.23\nGit SHA: x'), '3.4.23');
  assert.equal(upstreamVersion('1:3.4.23-4+b4'), '3.4.23');
});
