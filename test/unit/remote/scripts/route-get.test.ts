/**
 * route-get.sh (phases/shared/gather-facts.ts: the lookups the facts script could not make) run by bash
 * against a stub `ip`: one `ip -force -j -batch -` for all peers, and parseRouteGets reads its answers,
 * a failed lookup as its error without losing the others.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { stubBox } from './harness.js';
import { remoteScript } from '../../../../src/remote/remote-script.js';
import { parseSections } from '../../../../src/remote/sections.js';
import { parseRouteGets } from '../../../../src/phases/shared/facts.js';
import '../../../../src/phases/shared/gather-facts.js';

const box = stubBox({
  // answers like ip -j -batch: one JSON line per lookup; 198.18.9.9 unreachable (stderr, merged by 2>&1)
  ip: `[ "$*" = "-force -j -batch -" ] || exit 9
while read -r _ _ a; do
  if [ "$a" = 198.18.9.9 ]; then echo 'RTNETLINK answers: Network is unreachable' >&2
  else printf '[{"dst":"%s","dev":"eth0","prefsrc":"198.18.1.11","flags":[],"uid":0,"cache":[]}]\\n' "$a"; fi
done`,
});
after(() => box.close());

test("one ip -batch for every peer; a failed lookup is that peer's error, the others are answered", async () => {
  const peers = ['198.18.1.12', '198.18.9.9', '198.18.1.13'];
  const r = await box.run(remoteScript('route-get', { PEERS: peers }));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.calls, ['ip -force -j -batch -']);
  const got = parseRouteGets(parseSections(r.stdout), peers);
  assert.equal((got.get('198.18.1.12') as { dev: string }).dev, 'eth0');
  assert.equal((got.get('198.18.1.13') as { dst: string }).dst, '198.18.1.13');
  assert.deepEqual(got.get('198.18.9.9'), { error: 'RTNETLINK answers: Network is unreachable' });
});
