/**
 * `up --adopt`'s and `adopt --write-inventory`'s host scripts run by bash against a stub systemctl on
 * scratch files: adopt-set-aside.sh moves each unit's fragment and drop-ins aside, but not flanprov's
 * own drop-in; read-file.sh returns a file whole, or fails.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stubBox } from './harness.js';
import { setAsideUnitsScript } from '../../../../src/phases/up/adopt-agent.js';
import { remoteScriptUnchecked } from '../../../../src/remote/remote-script.js';

// systemctl show -p FragmentPath|DropInPaths --value UNIT: from $FP_DIR/UNIT.FragmentPath etc.
const box = stubBox({ systemctl: '[ "$1" = show ] && cat "$FP_DIR/$5.$3" 2>/dev/null; exit 0' });
after(() => box.close());

test('adopt-set-aside.sh: fragments and drop-ins of every unit moved to .flanprov-bak; flanprov\'s 10-flannel.conf and missing files left', async () => {
  const d = join(box.dir, 'units');
  for (const sub of ['etc', 'etc/old-flannel.service.d', 'etc/flanneld.service.d']) mkdirSync(join(d, sub), { recursive: true });
  const p = (f: string) => join(d, f);
  for (const f of ['etc/old-flannel.service', 'etc/old-flannel.service.d/a.conf', 'etc/old-flannel.service.d/b.conf', 'etc/flanneld.service', 'etc/flanneld.service.d/10-flannel.conf']) writeFileSync(p(f), 'x');
  writeFileSync(p('old-flannel.service.FragmentPath'), `${p('etc/old-flannel.service')}\n`);
  writeFileSync(p('old-flannel.service.DropInPaths'), `${p('etc/old-flannel.service.d/a.conf')} ${p('etc/old-flannel.service.d/b.conf')} ${p('etc/gone.conf')}\n`);
  writeFileSync(p('flanneld.service.FragmentPath'), `${p('etc/flanneld.service')}\n`);
  writeFileSync(p('flanneld.service.DropInPaths'), `${p('etc/flanneld.service.d/10-flannel.conf')}\n`);
  const r = await box.run(setAsideUnitsScript(['old-flannel.service', 'flanneld.service', 'none.service']), { env: { FP_DIR: d } });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.split('\n').filter(Boolean), [p('etc/old-flannel.service'), p('etc/old-flannel.service.d/a.conf'), p('etc/old-flannel.service.d/b.conf'), p('etc/flanneld.service')]);
  assert.deepEqual(readdirSync(p('etc/old-flannel.service.d')).sort(), ['a.conf.flanprov-bak', 'b.conf.flanprov-bak']);
  assert.ok(existsSync(p('etc/flanneld.service.flanprov-bak')) && existsSync(p('etc/flanneld.service.d/10-flannel.conf')));
});

test('read-file.sh: the content as one line of base64; an unreadable file fails', async () => {
  const f = join(box.dir, 'ca.pem');
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
  writeFileSync(f, pem);
  const r = await box.run(remoteScriptUnchecked('read-file', { FILE: f }));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(Buffer.from(r.stdout, 'base64').toString(), pem);
  assert.doesNotMatch(r.stdout.trim(), /\n/);
  const missing = await box.run(remoteScriptUnchecked('read-file', { FILE: join(box.dir, 'absent.pem') }));
  assert.notEqual(missing.code, 0);
  assert.match(missing.stderr, /absent\.pem/);
});
