/**
 * `up --adopt`'s and `adopt --write-inventory`'s host scripts run by bash against a stub systemctl on
 * scratch files: adopt-set-aside.sh moves each unit's fragment and drop-ins aside, but not flanprov's
 * own drop-in; read-file.sh returns a file whole, or fails.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASE_TOOLS, stubBox } from './harness.js';
import { setAsideUnitsScript } from '../../../../src/phases/up/adopt-agent.js';
import { adoptDockerScript } from '../../../../src/phases/up/adopt-docker.js';
import { remoteScriptUnchecked } from '../../../../src/remote/remote-script.js';

// systemctl show -p FragmentPath|DropInPaths --value UNIT: from $FP_DIR/UNIT.FragmentPath etc.
const box = stubBox({ systemctl: '[ "$1" = show ] && cat "$FP_DIR/$5.$3" 2>/dev/null; exit 0' }, [...BASE_TOOLS, 'cp', 'install', 'sha256sum']);
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

test('adopt-docker.sh: a backup of each file unless one exists, the edits written 0644, a moved drop-in removed from its old name', async () => {
  const d = join(box.dir, 'docker');
  mkdirSync(join(d, 'docker.service.d'), { recursive: true });
  const p = (f: string) => join(d, f);
  writeFileSync(p('default-docker'), 'DOCKER_OPTS="--bip=10.1.2.1/24 --mtu=1450 --dns 1.1.1.1"\n', { mode: 0o640 });
  writeFileSync(p('daemon.json'), '{"mtu": 1450, "debug": true}\n');
  writeFileSync(p('daemon.json.flanprov-bak'), 'the oldest state\n');
  writeFileSync(p('docker.service.d/10-machine.conf'), '[Service]\nExecStart=\nExecStart=/usr/bin/dockerd $DOCKER_OPTS\n');
  const edit = (path: string, after: string, moveTo?: string) => ({ path: p(path), before: '', after, backup: `${p(path)}.flanprov-bak`, why: ['test'], ...(moveTo ? { moveTo: p(moveTo) } : {}) });
  const r = await box.run(adoptDockerScript([
    edit('default-docker', 'DOCKER_OPTS="--dns 1.1.1.1"\n'),
    edit('daemon.json', '{"debug": true}\n'),
    edit('docker.service.d/10-machine.conf', '[Service]\n', 'docker.service.d/05-machine.conf'),
  ]));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(p('default-docker'), 'utf8'), 'DOCKER_OPTS="--dns 1.1.1.1"\n');
  assert.equal(readFileSync(p('default-docker.flanprov-bak'), 'utf8'), 'DOCKER_OPTS="--bip=10.1.2.1/24 --mtu=1450 --dns 1.1.1.1"\n');
  assert.equal((statSync(p('default-docker.flanprov-bak')).mode & 0o777).toString(8), '640', 'cp -a keeps the mode');
  assert.equal((statSync(p('default-docker')).mode & 0o777).toString(8), '644');
  assert.equal(readFileSync(p('daemon.json.flanprov-bak'), 'utf8'), 'the oldest state\n', 'an existing backup is kept');
  assert.equal(readFileSync(p('daemon.json'), 'utf8'), '{"debug": true}\n');
  assert.deepEqual(readdirSync(p('docker.service.d')).sort(), ['05-machine.conf', '10-machine.conf.flanprov-bak']);
  assert.equal(readFileSync(p('docker.service.d/05-machine.conf'), 'utf8'), '[Service]\n');
});
