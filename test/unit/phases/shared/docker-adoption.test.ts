import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitSystemctlCat } from '../../../../src/phases/shared/docker-unit.js';
import { dockerSources } from '../../../../src/phases/shared/docker-sources.js';
import { planDockerAdoption, stripOwnedFlags } from '../../../../src/phases/shared/docker-adoption.js';

test('stripOwnedFlags: --bip/--mtu/--ip-masq/-b/--fixed-cidr in both forms out, every other flag kept; nothing to strip = unchanged', () => {
  assert.equal(stripOwnedFlags('/usr/bin/dockerd -H tcp://0.0.0.0:2376 --bip=10.1.2.1/24 --mtu 1450 --label provider=generic --ip-masq'), '/usr/bin/dockerd -H tcp://0.0.0.0:2376 --label provider=generic');
  assert.equal(stripOwnedFlags('dockerd -b br0 --fixed-cidr=10.0.0.0/25 --ip-masq=false --iptables=false'), 'dockerd --iptables=false');
  assert.equal(stripOwnedFlags('/usr/sbin/dockerd -H fd://     --containerd=/run/containerd/containerd.sock $DOCKER_OPTS'), '/usr/sbin/dockerd -H fd://     --containerd=/run/containerd/containerd.sock $DOCKER_OPTS');
  assert.equal(stripOwnedFlags('--bipx=1 --mtux 2'), '--bipx=1 --mtux 2');
});

const unit = (extra = '') => splitSystemctlCat([
  '# /lib/systemd/system/docker.service', '[Service]', 'EnvironmentFile=-/etc/default/docker',
  'ExecStart=/usr/sbin/dockerd -H fd:// $DOCKER_OPTS', '', extra,
].join('\n'));

test('DOCKER_OPTS in /etc/default/docker: the flannel flags removed from its line, the others and the rest of the file kept, a backup named', () => {
  const text = '# Docker Upstart and SysVinit configuration file\n\nDOCKER_OPTS="--dns 10.0.0.2 --bip=10.99.5.1/24 --ip-masq=false --mtu=1472"\n#export http_proxy="http://127.0.0.1:3128/"\n';
  const s = dockerSources({ fragments: unit(), exclude: [], environmentFiles: new Map([['/etc/default/docker', text]]) });
  const p = planDockerAdoption(s);
  assert.deepEqual(p.problems, []);
  assert.equal(p.edits.length, 1);
  assert.equal(p.edits[0]!.path, '/etc/default/docker');
  assert.equal(p.edits[0]!.backup, '/etc/default/docker.flanprov-backup');
  assert.equal(p.edits[0]!.after, '# Docker Upstart and SysVinit configuration file\n\nDOCKER_OPTS="--dns 10.0.0.2"\n#export http_proxy="http://127.0.0.1:3128/"\n');
  assert.deepEqual(p.edits[0]!.why, ['--bip=10.99.5.1/24 removed from DOCKER_OPTS', '--ip-masq=false removed from DOCKER_OPTS', '--mtu=1472 removed from DOCKER_OPTS']);
});

test('mk-docker-opts: /run/docker_opts.env edited, its required EnvironmentFile= in an /etc drop-in made optional; a package unit is a problem instead', () => {
  const dropIn = '# /etc/systemd/system/docker.service.d/flannel.conf\n[Service]\nEnvironmentFile=/run/docker_opts.env\n';
  const env = new Map([['/run/docker_opts.env', 'DOCKER_OPT_BIP="--bip=10.1.15.1/24"\nDOCKER_OPTS=" --bip=10.1.15.1/24 --ip-masq=true --mtu=1472"\n']]);
  const s = dockerSources({ fragments: unit(dropIn), exclude: [], environmentFiles: env });
  const p = planDockerAdoption(s);
  assert.deepEqual(p.problems, []);
  assert.deepEqual(p.edits.map((e) => e.path), ['/run/docker_opts.env', '/etc/systemd/system/docker.service.d/flannel.conf']);
  assert.equal(p.edits[0]!.after, 'DOCKER_OPT_BIP="--bip=10.1.15.1/24"\nDOCKER_OPTS=""\n');
  assert.match(p.edits[1]!.after, /^EnvironmentFile=-\/run\/docker_opts\.env$/m);
  const vendor = splitSystemctlCat('# /lib/systemd/system/docker.service\n[Service]\nEnvironmentFile=/run/flannel/docker_opts.env\nExecStart=/usr/bin/dockerd $DOCKER_OPTS\n');
  const q = planDockerAdoption(dockerSources({ fragments: vendor, exclude: [], environmentFiles: new Map([['/run/flannel/docker_opts.env', 'DOCKER_OPTS="--bip=10.1.15.1/24"\n']]) }));
  assert.match(q.problems[0]!, /\/lib\/systemd\/system\/docker\.service:2 requires EnvironmentFile=\/run\/flannel\/docker_opts\.env.*EnvironmentFile=-\/run\/flannel\/docker_opts\.env/);
});

test('daemon.json: bip and mtu removed, other keys kept; a drop-in sorting after the flanprov drop-in is renamed before it, its flannel flags out', () => {
  const dj = '{\n  "bip": "10.1.3.1/24",\n  "mtu": 1450,\n  "log-driver": "journald"\n}\n';
  const machine = '# /etc/systemd/system/docker.service.d/10-machine.conf\n[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H tcp://0.0.0.0:2376 --bip=10.1.2.1/24 --label a=b\n';
  const s = dockerSources({ fragments: unit(machine), exclude: [], environmentFiles: new Map(), daemonJson: { path: '/etc/docker/daemon.json', text: dj, json: JSON.parse(dj) } });
  const p = planDockerAdoption(s);
  assert.deepEqual(p.edits.map((e) => [e.path, e.moveTo]), [
    ['/etc/docker/daemon.json', undefined],
    // 10-machine.conf sorts after 10-flannel.conf and would replace its ExecStart: renamed to sort just before it
    ['/etc/systemd/system/docker.service.d/10-machine.conf', '/etc/systemd/system/docker.service.d/10-flannel-adopted-10-machine.conf'],
  ]);
  assert.deepEqual(JSON.parse(p.edits[0]!.after), { 'log-driver': 'journald' });
  assert.equal(p.edits[1]!.after, '[Service]\nExecStart=\nExecStart=/usr/bin/dockerd -H tcp://0.0.0.0:2376 --label a=b\n');
  assert.equal(stripOwnedFlags(s.execStart!.command), '/usr/bin/dockerd -H tcp://0.0.0.0:2376 --label a=b');
});
