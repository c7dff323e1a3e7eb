import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitSystemctlCat } from '../../../../src/phases/shared/docker-unit.js';
import {
  dockerSources, expandExecStart, flagSettings, parseEnvironmentFile, serviceDirectives, splitUnitWords, describeSetting,
} from '../../../../src/phases/shared/docker-sources.js';

const src = { file: '/lib/systemd/system/docker.service', line: 7 };
const env = (o: Record<string, string>) => new Map(Object.entries(o).map(([k, v]) => [k, { value: v, source: { file: '/etc/default/docker', line: 1 } }]));

test('systemd words: quotes removed, backslash escapes, $ kept for the expander', () => {
  assert.deepEqual(splitUnitWords(`/usr/bin/dockerd -H fd:// "--label=a b" '--x=$Y' \\"q $DOCKER_OPTS`), ['/usr/bin/dockerd', '-H', 'fd://', '--label=a b', '--x=$Y', '"q', '$DOCKER_OPTS']);
});

test('$VAR as a word splits at whitespace; ${VAR} stays one word; $VAR inside a word is kept; unset is empty', () => {
  const e = env({ DOCKER_OPTS: '  --bip=10.1.0.1/24   --mtu=1450 ', B: 'x y' });
  const args = expandExecStart('/usr/sbin/dockerd $DOCKER_OPTS --z=${B} a$B $UNSET ${UNSET}', src, e);
  assert.deepEqual(args.map((a) => a.text), ['/usr/sbin/dockerd', '--bip=10.1.0.1/24', '--mtu=1450', '--z=x y', 'a$B', '']);
  assert.equal(args[1]!.via, 'DOCKER_OPTS');
  assert.deepEqual(args[1]!.source, { file: '/etc/default/docker', line: 1 });
  assert.deepEqual(args[0]!.source, src);
});

test('environment files: comments, quotes, export, continuation, the line of each assignment', () => {
  const m = parseEnvironmentFile('/run/docker_opts.env', '# generated\nDOCKER_OPT_BIP="--bip=10.1.15.1/24"\n; x\nexport DOCKER_OPTS=" --bip=10.1.15.1/24 --ip-masq=true --mtu=1472"\nA=one \\\n two\nnot an assignment\n');
  assert.equal(m.get('DOCKER_OPT_BIP')!.value, '--bip=10.1.15.1/24');
  assert.deepEqual(m.get('DOCKER_OPTS'), { value: ' --bip=10.1.15.1/24 --ip-masq=true --mtu=1472', source: { file: '/run/docker_opts.env', line: 4 } });
  assert.equal(m.get('A')!.value, 'one  two');
  assert.equal(m.size, 3);
});

test('directives: drop-ins in order, an empty ExecStart= resets, EnvironmentFile= accumulates with - optional, lines numbered', () => {
  const frags = splitSystemctlCat([
    '# /lib/systemd/system/docker.service', '[Unit]', 'Description=Docker', '[Service]', 'Environment="A=1 2" B=3',
    'EnvironmentFile=-/etc/default/docker', 'ExecStart=/usr/sbin/dockerd -H fd:// $DOCKER_OPTS', '',
    '# /etc/systemd/system/docker.service.d/override.conf', '[Service]', 'EnvironmentFile=/run/flannel/docker_opts.env',
    'ExecStart=', 'ExecStart=/usr/bin/dockerd \\', '   $DOCKER_OPTS -H tcp://127.0.0.1:2375', '',
    '# /etc/systemd/system/docker.service.d/10-flannel.conf', '[Service]', 'ExecStart=', 'ExecStart=/x --bip=${FLANNEL_SUBNET}',
  ].join('\n'));
  const d = serviceDirectives(frags, ['/etc/systemd/system/docker.service.d/10-flannel.conf']);
  assert.deepEqual(d.execStart, { command: '/usr/bin/dockerd     $DOCKER_OPTS -H tcp://127.0.0.1:2375', source: { file: '/etc/systemd/system/docker.service.d/override.conf', line: 4 } });
  assert.deepEqual(d.environmentFiles.map((f) => [f.path, f.optional, f.source.line]), [['/etc/default/docker', true, 5], ['/run/flannel/docker_opts.env', false, 2]]);
  assert.equal(d.environment.get('A')!.value, '1 2');
  assert.equal(d.environment.get('B')!.value, '3');
});

test('every source at once: the later environment file wins, settings named by file and line, daemon.json lines', () => {
  const unit = [
    '# /lib/systemd/system/docker.service', '[Service]', 'EnvironmentFile=-/etc/default/docker', 'EnvironmentFile=-/run/docker_opts.env',
    'ExecStart=/usr/sbin/dockerd -H fd:// $DOCKER_OPTS --iptables=false',
  ].join('\n');
  const files = new Map([
    ['/etc/default/docker', 'DOCKER_OPTS="--bip=10.99.5.1/24"\n'],
    ['/run/docker_opts.env', '\nDOCKER_OPTS=" --bip=10.1.15.1/24 --ip-masq --mtu 1472"\n'],
  ]);
  const djText = '{\n  "log-driver": "json-file",\n  "mtu": 1400\n}\n';
  const s = dockerSources({ fragments: splitSystemctlCat(unit), exclude: [], environmentFiles: files, daemonJson: { path: '/etc/docker/daemon.json', text: djText, json: JSON.parse(djText) } });
  assert.deepEqual(s.settings.map((x) => [x.name, x.value, `${x.source.file}:${x.source.line}`, x.kind]), [
    ['bip', '10.1.15.1/24', '/run/docker_opts.env:2', 'flag'],
    ['ip-masq', 'true', '/run/docker_opts.env:2', 'flag'],
    ['mtu', '1472', '/run/docker_opts.env:2', 'flag'],
    ['iptables', 'false', '/lib/systemd/system/docker.service:4', 'flag'],
    ['mtu', '1400', '/etc/docker/daemon.json:3', 'daemon.json'],
  ]);
  assert.equal(describeSetting(s.settings[0]!), '/run/docker_opts.env:2 (DOCKER_OPTS) sets --bip=10.1.15.1/24');
  assert.equal(describeSetting(s.settings[4]!), '/etc/docker/daemon.json:3 sets "mtu": 1400');
});

test('flag forms: --bip=X, --bip X, -b br0, --fixed-cidr; look-alikes ignored', () => {
  const a = (t: string) => t.split(' ').map((text) => ({ text, source: src }));
  assert.deepEqual(flagSettings(a('dockerd --bip 10.0.0.1/24 -b br0 --fixed-cidr=10.0.0.0/25 --bipx --mtux --ip-masq=false')).map((s) => `${s.name}=${s.value}`), ['bip=10.0.0.1/24', 'bridge=br0', 'fixed-cidr=10.0.0.0/25', 'ip-masq=false']);
});
