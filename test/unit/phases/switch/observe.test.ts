import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitForBackend, type Observation } from '../../../../src/phases/switch/observe.js';
import type { PhaseContext } from '../../../../src/phases/framework/types.js';
import { parseCidr } from '../../../../src/network/ipv4.js';
import { agentStatusFixture } from '../../../fixtures/agent-status.js';

const ctx = {} as PhaseContext; // never used: observations come from `look`
const hosts = [{ name: 'h1' }, { name: 'h2' }, { name: 'h3' }];

/** An agent that moves to `to` after `afterPolls` looks (or is stopped / unreachable). */
function agent(name: string, i: number, behaviour: { afterPolls?: number; unit?: string; unreachable?: boolean }) {
  let polls = 0;
  return (): Observation => {
    polls++;
    if (behaviour.unreachable) return { host: name, unreachable: 'connection reset' };
    const moved = behaviour.afterPolls !== undefined && polls > behaviour.afterPolls;
    const type = moved ? 'host-gw' : 'vxlan';
    const types = moved ? ['host-gw'] : polls > 1 ? ['vxlan', 'host-gw'] : ['vxlan'];
    return {
      host: name, unit: behaviour.unit ?? 'active', status: agentStatusFixture(types),
      lease: { subnet: parseCidr(`10.244.${i}.0/24`)!, attrs: { PublicIP: `198.18.1.1${i}`, PublicIPv6: null, BackendType: type } },
    };
  };
}

function looker(agents: Record<string, () => Observation>) {
  let calls = 0;
  const look = async (hs: readonly { name: string }[]) => {
    calls++;
    return new Map(hs.map((h) => [h.name, agents[h.name]!()]));
  };
  return { look, calls: () => calls };
}

test('all follow: done per host, nothing missing, polling stops', async () => {
  const l = looker({ h1: agent('h1', 1, { afterPolls: 1 }), h2: agent('h2', 2, { afterPolls: 3 }), h3: agent('h3', 3, { afterPolls: 2 }) });
  const done: string[] = [];
  const o = await waitForBackend(ctx, hosts, 'host-gw', { timeoutMs: 5000, pollMs: 1, look: l.look, onDone: (h) => done.push(h) });
  assert.deepEqual([...o.missing.keys()], []);
  assert.deepEqual(done, ['h1', 'h3', 'h2']);
  assert.equal(l.calls(), 4);
});

test('a stopped agent ends the wait early when rolling back (stopOnDead), not when forcing', async () => {
  const mk = () => looker({ h1: agent('h1', 1, {}), h2: agent('h2', 2, {}), h3: agent('h3', 3, { unit: 'inactive' }) });
  const t0 = Date.now();
  const o = await waitForBackend(ctx, hosts, 'host-gw', { timeoutMs: 10_000, pollMs: 5, deadGraceMs: 50, stopOnDead: true, look: mk().look });
  assert.ok(Date.now() - t0 < 2000);
  assert.deepEqual(o.missing.get('h3'), { state: 'dead', why: 'flanneld is inactive' });
  assert.equal(o.missing.get('h1')?.state, 'waiting');
  const t1 = Date.now();
  const f = await waitForBackend(ctx, hosts, 'host-gw', { timeoutMs: 400, pollMs: 5, deadGraceMs: 50, look: mk().look });
  assert.ok(Date.now() - t1 >= 400, 'without stopOnDead the live agents get the whole timeout');
  assert.equal(f.missing.size, 3);
});

test('only dead hosts left: no need to wait out the timeout; unreachable is dead too', async () => {
  const l = looker({ h1: agent('h1', 1, { afterPolls: 1 }), h2: agent('h2', 2, { afterPolls: 1 }), h3: agent('h3', 3, { unreachable: true }) });
  const t0 = Date.now();
  const o = await waitForBackend(ctx, hosts, 'host-gw', { timeoutMs: 10_000, pollMs: 5, deadGraceMs: 50, look: l.look });
  assert.ok(Date.now() - t0 < 2000);
  assert.deepEqual([...o.done.keys()].sort(), ['h1', 'h2']);
  assert.match(o.missing.get('h3')!.why, /unreachable/);
});

test('too slow: waiting hosts are reported with what they still show', async () => {
  const l = looker({ h1: agent('h1', 1, { afterPolls: 1 }), h2: agent('h2', 2, {}), h3: agent('h3', 3, { afterPolls: 1 }) });
  const o = await waitForBackend(ctx, hosts, 'host-gw', { timeoutMs: 100, pollMs: 5, look: l.look });
  assert.deepEqual([...o.missing.keys()], ['h2']);
  assert.match(o.missing.get('h2')!.why, /lease says vxlan, active: vxlan \+ host-gw/);
});
