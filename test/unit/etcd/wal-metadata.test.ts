import { test } from 'node:test';
import assert from 'node:assert/strict';
import { walIdentity } from '../../../src/etcd/wal-metadata.js';

// The first 256 bytes of member/wal/0000000000000000-0000000000000000.wal of a data dir made by Debian's
// etcd 3.4.23 (`etcdctl member list` said cluster_id 10677983719163747788, member 3450899610643968683).
const HEAD = 'BAAAAAAAAIQIBBAAAAAAAB8AAAAAAACBCAEQ5OeZrgMaFQir5d6/mN2D8i8QzLujkeSz9JeUAQANAAAAAAAAgwgFENa4jgIaBAgAEAAAAABuAAAAAAAAgggCEO6K7LMFGmQIARABGAEiXAgAEAAYq+Xev5jdg/IvIkx7ImlkIjozNDUwODk5NjEwNjQzOTY4NjgzLCJwZWVyVVJMcyI6WyJodHRwOi8vMTI3LjAuMC4xOjIzODAxIl0sIm5hbWUiOiJmeCJ9AAAQAAAAAAAAAAgDEKWGvN4IGgYIARAAGAEPAAAAAAAAgQgCEP32124aBggAEAIYAgCaAAAAAAAAhg==';

test('a real WAL header gives the member and cluster IDs etcd reported', () => {
  assert.deepEqual(walIdentity(Buffer.from(HEAD, 'base64')), {
    memberId: (3450899610643968683n).toString(16),
    clusterId: (10677983719163747788n).toString(16),
  });
});

test('truncated or foreign bytes give no identity (never a wrong one)', () => {
  const b = Buffer.from(HEAD, 'base64');
  assert.equal(walIdentity(b.subarray(0, 30)), undefined);
  assert.equal(walIdentity(Buffer.alloc(64)), undefined);
  assert.equal(walIdentity(Buffer.from('not a wal file at all, just some text here')), undefined);
});
