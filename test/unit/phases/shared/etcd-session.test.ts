import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GRPCUnavailableError, EtcdPermissionDeniedError, type Etcd3 } from 'etcd3';
import { withEtcd } from '../../../../src/phases/shared/etcd-session.js';
import type { PhaseContext } from '../../../../src/phases/framework/types.js';
import { ExitCode, FlanprovError } from '../../../../src/util/errors.js';

function ctx(timeoutMs: number): PhaseContext {
  const client = {} as Etcd3;
  return {
    cluster: { etcd: { endpoints: ['http://198.18.1.10:2379'], prefix: '/coreos.com/network' } },
    options: { etcdTimeoutMs: timeoutMs },
    state: { etcd: Promise.resolve({ client, via: 'ssh tunnel via h1 to 198.18.1.10:2379', close: async () => undefined }) },
  } as unknown as PhaseContext;
}

test('a frozen etcd (a request that never answers) fails within the deadline, naming endpoint, path and action', async () => {
  const t0 = Date.now();
  await assert.rejects(withEtcd(ctx(300), 'listing the leases', () => new Promise(() => undefined)), (e: unknown) => {
    assert.ok(e instanceof FlanprovError && e.exitCode === ExitCode.UNREACHABLE);
    assert.match(e.message, /etcd \(http:\/\/198\.18\.1\.10:2379, ssh tunnel via h1 to 198\.18\.1\.10:2379\) did not answer within 0\.3 s while listing the leases/);
    return true;
  });
  const ms = Date.now() - t0;
  assert.ok(ms >= 290 && ms < 1500, `gave up after ${ms} ms`);
});

test('gRPC unavailability is the same error; etcd\'s own refusals pass through', async () => {
  await assert.rejects(withEtcd(ctx(5000), 'reading the network config', async () => { throw new GRPCUnavailableError('14 UNAVAILABLE: No connection established'); }),
    /did not answer \(14 UNAVAILABLE: No connection established\) while reading the network config/);
  await assert.rejects(withEtcd(ctx(5000), 'x', async () => { throw new EtcdPermissionDeniedError('permission denied'); }), (e: unknown) => e instanceof EtcdPermissionDeniedError);
  assert.equal(await withEtcd(ctx(5000), 'x', async () => 42), 42);
});
