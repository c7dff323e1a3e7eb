import { test } from 'node:test';
import assert from 'node:assert/strict';
import { userInfo } from 'node:os';
import { LocalRemoteHost } from '../../../src/remote/local-host.js';
import { runUntilMarker } from '../../../src/remote/run-until-marker.js';
import { hostSpec } from '../phases/shared/fixtures.js';

const me = userInfo().username;
const host = (): LocalRemoteHost => new LocalRemoteHost('local1', { ...hostSpec('local1').connection, transport: 'local', user: me, becomeUser: me }, me);

test('runUntilMarker: the head arrives when the marker does, while the script goes on; one request', async () => {
  const h = host();
  const t0 = Date.now();
  // a marker split over two writes must still be found
  const run = runUntilMarker(h, `printf 'a\\nb\\n\\n::fp:: fa'; sleep 0.1; printf 'cts_end\\n'; sleep 1; echo tail`, '::fp:: facts_end');
  const head = await run.head;
  const headMs = Date.now() - t0;
  assert.equal(head, 'a\nb\n', 'up to the marker line and its leading newline');
  assert.ok(headMs < 900, `head after ${headMs} ms, before the script's 1 s sleep`);
  const r = await run.done;
  assert.ok(r.stdout.endsWith('::fp:: facts_end\ntail\n'), r.stdout);
  assert.ok(Date.now() - t0 >= 1000);
  assert.equal(h.roundTrips(), 1);
  await h.close();
});

test('runUntilMarker: no marker → head undefined and done has the failure; a closed host rejects done only', async () => {
  const h = host();
  const run = runUntilMarker(h, 'echo half; echo boom >&2; exit 4', '::fp:: facts_end');
  assert.equal(await run.head, undefined);
  const r = await run.done;
  assert.deepEqual([r.code, r.stderr], [4, 'boom\n']);
  await h.close();
  const gone = runUntilMarker(h, 'true', '::fp:: facts_end');
  assert.equal(await gone.head, undefined);
  await assert.rejects(gone.done, /closed/);
});
