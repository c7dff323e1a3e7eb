import { test } from 'node:test';
import assert from 'node:assert/strict';
import { interpret, leasesOfListing, configInV2Message } from '../../../src/etcd/v2-store.js';
import { formatNet } from '../../../src/network/ipv4.js';

test('v2 answers: a node, a missing key (errorCode 100), no v2 API (404 text), other errors', () => {
  assert.deepEqual(interpret(200, '{"action":"get","node":{"key":"/a/config","value":"{}"}}'), { kind: 'found', node: { key: '/a/config', value: '{}' } });
  assert.deepEqual(interpret(404, '{"errorCode":100,"message":"Key not found","cause":"/a","index":5}'), { kind: 'missing' });
  assert.deepEqual(interpret(404, '404 page not found\n'), { kind: 'no-v2', detail: '404 page not found' });
  assert.deepEqual(interpret(401, '{"errorCode":110,"message":"The request requires user authentication"}'), { kind: 'error', detail: 'HTTP 401: The request requires user authentication' });
  assert.equal(interpret(500, 'boom').kind, 'error');
});

test('leases of a v2 subnets listing: lease keys with value and TTL; directories and other keys skipped', () => {
  const r = leasesOfListing({ key: '/p/subnets', dir: true, nodes: [
    { key: '/p/subnets/10.244.5.0-24', value: '{"PublicIP":"1.2.3.4"}', ttl: 86000 },
    { key: '/p/subnets/10.244.6.0-24', value: '{"PublicIP":"1.2.3.5"}' },
    { key: '/p/subnets/junk', value: 'x' },
    { key: '/p/subnets/10.244.7.0-24', dir: true },
  ] });
  assert.deepEqual(r.leases.map((l) => [formatNet(l.subnet), l.ttl]), [['10.244.5.0/24', 86000], ['10.244.6.0/24', undefined]]);
  assert.deepEqual(r.skipped, ['/p/subnets/junk', '/p/subnets/10.244.7.0-24']);
  assert.deepEqual(leasesOfListing(undefined), { leases: [], skipped: [] });
});

test('the message names the key, the API version and what to do', () => {
  const m = configInV2Message('/docker-test/network/', { config: '{"Network":"10.1.0.0/16"}', leases: [1, 2] }, 'cli');
  assert.match(m, /^\/docker-test\/network\/config is not in etcd's v3 store, but etcd's v2 API has it \(\{"Network":"10\.1\.0\.0\/16"\}; 2 lease\(s\)/);
  assert.match(m, /ETCDCTL_API=2/);
  assert.match(m, /flanprov up --adopt/);
  assert.match(m, /ETCDCTL_API=3 etcdctl put \/docker-test\/network\/config/);
  assert.match(configInV2Message('/p', { config: '{}', leases: [] }, 'agent'), /copy it to v3/);
});
