/**
 * The managed etcd's member scripts (phases/etcd/*) run by bash against stub systemctl/dpkg-query/apt/ss/
 * getent/useradd/journalctl on scratch files: etcd-member-facts.sh as parseMemberFacts reads it,
 * etcd-member.sh's start, wait and remove (the wait's three ways to fail), etcd-member-dirs.sh changing only
 * what is wrong, etcd-apt-install.sh's policy-rc.d.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { BASE_TOOLS, stubBox } from './harness.js';
import { remoteScripts, remoteScriptUnchecked, scriptPartUnchecked, type ScriptValue } from '../../../../src/remote/remote-script.js';
import { parseMemberFacts } from '../../../../src/phases/etcd/member-facts.js';
import '../../../../src/phases/etcd/start.js'; // RemoteScripts['etcd-member']
import { writeFilesPart } from '../../../../src/remote/upload.js';

// systemctl: is-active answers from $FP_DIR/active (one line a call, the last one repeats), NRestarts from $FP_DIR/restarts
const box = stubBox({
  systemctl: `case "$*" in
  'is-active etcd.service') n=$(cat "$FP_DIR/polls" 2>/dev/null || echo 0); echo $((n + 1)) > "$FP_DIR/polls"
    s=$(sed -n "$((n + 1))p" "$FP_DIR/active"); [ -n "$s" ] || s=$(tail -n1 "$FP_DIR/active"); echo "$s"; [ "$s" = active ] ;;
  'show -p NRestarts --value etcd.service') n=$(cat "$FP_DIR/polls" 2>/dev/null || echo 0); if [ "$n" -ge "\${FP_RESTART_AT:-999}" ]; then echo 1; else echo 0; fi ;;
  'show etcd.service '*) printf 'LoadState=loaded\\nActiveState=active\\nMainPID=42\\nUnitFileState=enabled\\nActiveEnterTimestampMonotonic=123\\nNRestarts=0\\n' ;;
esac
exit 0`,
  journalctl: 'echo "etcd: member has already been bootstrapped"',
  'dpkg-query': '[ "${@: -1}" = etcd-server ] && printf "install ok installed 3.4.23-4+b4"',
  'apt-cache': 'printf "etcd-server:\\n  Installed: (none)\\n  Candidate: 3.4.23-4+b4\\n"',
  ss: 'echo "LISTEN 0 4096 198.18.1.11:2379 0.0.0.0:* users:((\\"etcd\\",pid=42,fd=7))"',
  getent: '[ "$2" = etcd ] && [ -z "$FP_NO_USER" ]',
  useradd: 'exit 0',
  install: 'exec_real install "$@"',
  'apt-get': '[ -x "$FP_DIR/policy-rc.d" ] && "$FP_DIR/policy-rc.d"; echo "policy says $? with DEBIAN_FRONTEND=$DEBIAN_FRONTEND" >> "$FP_STUB_LOG"; exit "${FP_APT_EXIT:-0}"',
  sha256sum: 'exec_real sha256sum "$@"',
}, [...BASE_TOOLS, 'date', 'chown', 'tail']);
after(() => box.close());

function scratch(name: string): string {
  const d = join(box.dir, name);
  mkdirSync(d, { recursive: true });
  return d;
}
const WAL = 'BAAAAAAAAIQIBBAAAAAAAB8AAAAAAACBCAEQ5OeZrgMaFQir5d6/mN2D8i8QzLujkeSz9JeUAQANAAAAAAAAgwgFENa4jgIaBAgAEAAAAAA=';
const sha = (b: string | Buffer) => createHash('sha256').update(b).digest('hex');

test('etcd-member-facts.sh: binaries (sha cached, version), package, candidate, unit, files with owner (content of one only), data dir, listeners, user', async () => {
  const d = scratch('facts');
  const etcd = join(d, 'etcd');
  writeFileSync(etcd, '#!/bin/sh\necho "etcd Version: 3.5.9"\necho "Git SHA: x"\n');
  chmodSync(etcd, 0o755);
  writeFileSync(join(d, 'bootstrap.env'), 'ETCD_INITIAL_CLUSTER_STATE=new\n', { mode: 0o600 });
  writeFileSync(join(d, 'server-key.pem'), 'secret\n', { mode: 0o600 });
  mkdirSync(join(d, 'data', 'member', 'wal'), { recursive: true });
  writeFileSync(join(d, 'data', 'member', 'wal', '0000000000000000-0000000000000000.wal'), Buffer.from(WAL, 'base64'));
  const params: Record<string, ScriptValue> = {
    BINS: [etcd, join(d, 'absent-etcd')], SHA_CACHE: join(d, 'cache', 'etcd.sha256'), PACKAGE: 'etcd-server',
    FILES: [join(d, 'bootstrap.env'), join(d, 'server-key.pem'), join(d, 'absent.pem')], CONTENT_FILE: join(d, 'bootstrap.env'),
    DATA_DIR: join(d, 'data'), CLIENT_PORT: 2379, PEER_PORT: 2380, ETCD_USER: 'etcd',
  };
  const r = await box.run(remoteScriptUnchecked('etcd-member-facts', params));
  assert.equal(r.code, 0, r.stderr);
  const f = parseMemberFacts(r.stdout);
  assert.deepEqual([...f.binaries], [[etcd, { sha256: sha(readFileSync(etcd)), version: '3.5.9' }]]);
  assert.equal(readFileSync(join(d, 'cache', 'etcd.sha256.0'), 'utf8').split(' ')[0], sha(readFileSync(etcd)), 'cached per binary index');
  assert.deepEqual([f.packageVersion, f.packageCandidate], ['3.4.23-4+b4', '3.4.23-4+b4']);
  assert.equal(f.unit?.active, 'active');
  const owner = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[2] === String(process.getuid!()))!.split(':')[0];
  assert.deepEqual(f.files.get(join(d, 'bootstrap.env')), { sha256: sha('ETCD_INITIAL_CLUSTER_STATE=new\n'), mode: 0o600, owner, content: 'ETCD_INITIAL_CLUSTER_STATE=new\n' });
  assert.deepEqual(f.files.get(join(d, 'server-key.pem')), { sha256: sha('secret\n'), mode: 0o600, owner, content: '' }, 'no key travels back');
  assert.equal(f.files.has(join(d, 'absent.pem')), false);
  assert.deepEqual(f.data, { kind: 'wal', memberId: (3450899610643968683n).toString(16), clusterId: (10677983719163747788n).toString(16) });
  assert.equal(f.listeners.length, 1);
  assert.equal(f.etcdUser, true);
  assert.ok(r.calls.includes('ss -Hltnp \\(\\ sport\\ =\\ :2379\\ or\\ sport\\ =\\ :2380\\ \\)'), r.calls.join('\n'));
  assert.doesNotMatch(r.calls.join('\n'), /systemctl (start|stop|restart|enable)/, 'read-only');

  const empty = await box.run(remoteScriptUnchecked('etcd-member-facts', { ...params, DATA_DIR: join(d, 'none'), BINS: [] }));
  assert.deepEqual(parseMemberFacts(empty.stdout).data, { kind: 'absent' });
});

const memberPart = (d: string, o: Record<string, ScriptValue>) => scriptPartUnchecked('etcd-member', {
  ACTION: 'start', SET_ASIDE: 0, DAEMON_RELOAD: 0, WAIT: 1, R0: '', AFTER: 'start', TIMEOUT: 5,
  DATA_DIR: join(d, 'data'), SET_ASIDE_SUFFIX: '.removed-', FILES: [], ...o,
});
const member = (d: string, o: Record<string, ScriptValue>) => remoteScripts(memberPart(d, o));
const changes = (calls: string[]) => calls.filter((c) => /^systemctl (daemon-reload|enable|reset-failed|start|restart|disable)/.test(c));

test('etcd-member.sh start: data dir set aside, reload, enable, reset, restarts=N, start --no-block, waits until active', async () => {
  const d = scratch('start');
  mkdirSync(join(d, 'data'));
  writeFileSync(join(d, 'active'), 'activating\nactivating\nactive\n');
  const r = await box.run(member(d, { SET_ASIDE: 1, DAEMON_RELOAD: 1 }), { env: { FP_DIR: d } });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(changes(r.calls), ['systemctl daemon-reload', 'systemctl enable -q etcd.service', 'systemctl reset-failed etcd.service', 'systemctl start --no-block etcd.service']);
  assert.equal(r.calls.filter((c) => c === 'systemctl is-active etcd.service').length, 3);
  assert.match(r.stdout, /^set aside .*\/data$/m);
  assert.match(r.stdout, /^restarts=0$/m);
  assert.equal(existsSync(join(d, 'data')), false);
  assert.match(readdirSync(d).find((f) => f.startsWith('data.removed-')) ?? '', /^data\.removed-\d{8}T\d{6}$/);
});

test('etcd-member.sh: restart without waiting; the wait fails on a failed unit, a restart and the timeout, with the journal', async () => {
  const d = scratch('wait');
  writeFileSync(join(d, 'active'), 'active\n');
  const r = await box.run(member(d, { ACTION: 'restart', WAIT: 0 }), { env: { FP_DIR: d } });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(changes(r.calls).slice(-1), ['systemctl restart --no-block etcd.service']);
  assert.equal(r.calls.includes('systemctl is-active etcd.service'), false);

  writeFileSync(join(d, 'active'), 'activating\nfailed\n');
  writeFileSync(join(d, 'polls'), '0');
  const failed = await box.run(member(d, { ACTION: 'wait', R0: 0, AFTER: 'its bootstrap' }), { env: { FP_DIR: d } });
  assert.equal(failed.code, 3);
  assert.match(failed.stderr, /^etcd\.service is failed after its bootstrap:\netcd: member has already been bootstrapped/);
  assert.deepEqual(changes(failed.calls), [], 'a wait starts nothing');

  writeFileSync(join(d, 'active'), 'activating\n');
  writeFileSync(join(d, 'polls'), '0');
  const restarted = await box.run(member(d, { ACTION: 'wait', R0: 0, AFTER: 'its start' }), { env: { FP_DIR: d, FP_RESTART_AT: '2' } });
  assert.equal(restarted.code, 3);
  assert.match(restarted.stderr, /^etcd\.service is restarting after its start:/);

  writeFileSync(join(d, 'polls'), '0');
  const t0 = Date.now();
  const slow = await box.run(member(d, { ACTION: 'wait', R0: 0, TIMEOUT: 1 }), { env: { FP_DIR: d } });
  assert.equal(slow.code, 3);
  assert.match(slow.stderr, /^etcd\.service is activating after start:/);
  assert.ok(Date.now() - t0 < 4000, 'gave up at the timeout');
});

test('etcd-member.sh remove: stopped and disabled, data dir set aside, files removed, reload; enable: only enabled', async () => {
  const d = scratch('remove');
  mkdirSync(join(d, 'data'));
  for (const f of ['etcd.service', 'key.pem']) writeFileSync(join(d, f), 'x');
  const r = await box.run(member(d, { ACTION: 'remove', FILES: [join(d, 'etcd.service'), join(d, 'key.pem'), join(d, 'absent')] }), { env: { FP_DIR: d } });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(changes(r.calls), ['systemctl disable --now -q etcd.service', 'systemctl daemon-reload']);
  assert.deepEqual(readdirSync(d).filter((f) => !f.startsWith('data.removed-')), []);

  const enable = await box.run(member(d, { ACTION: 'enable' }), { env: { FP_DIR: d } });
  assert.equal(enable.code, 0, enable.stderr);
  assert.deepEqual(changes(enable.calls), ['systemctl enable -q etcd.service'], 'enable only: nothing started or stopped');
  const unknown = await box.run(member(d, { ACTION: 'reboot' }), { env: { FP_DIR: d } });
  assert.equal(unknown.code, 2);
});

test('a join: the bootstrap file written (writeFilesPart) and etcd started in the same script', async () => {
  const d = scratch('join');
  writeFileSync(join(d, 'active'), 'active\n');
  const env = join(d, 'etc', 'bootstrap.env');
  const s = remoteScripts(writeFilesPart([{ path: env, content: 'ETCD_INITIAL_CLUSTER_STATE=existing\n', mode: 0o600 }]), memberPart(d, { DAEMON_RELOAD: 1 }));
  const r = await box.run(s, { env: { FP_DIR: d } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readFileSync(env, 'utf8'), 'ETCD_INITIAL_CLUSTER_STATE=existing\n');
  assert.deepEqual(changes(r.calls)[0], 'systemctl daemon-reload');
});

test('etcd-member-dirs.sh: the user made when missing; only a directory with the wrong mode or owner is (re)made', async () => {
  const d = scratch('dirs');
  const ok = join(d, 'ok');
  const wrong = join(d, 'wrong');
  mkdirSync(ok, { mode: 0o700 });
  chmodSync(ok, 0o700);
  mkdirSync(wrong, { mode: 0o755 });
  chmodSync(wrong, 0o755);
  const me = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[2] === String(process.getuid!()))!.split(':')[0]!;
  const s = remoteScriptUnchecked('etcd-member-dirs', { ETCD_USER: me, HOME_DIR: join(d, 'home'), CONF_DIR: join(d, 'etc'), PRIVATE_DIRS: [ok, wrong, join(d, 'new')] });
  const r = await box.run(s, { env: { FP_NO_USER: '1' } });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.calls.filter((c) => /^(useradd|install)/.test(c)), [
    `useradd --system --user-group --no-create-home --home-dir ${join(d, 'home')} --shell /usr/sbin/nologin ${me}`, `install -d -m 0755 ${join(d, 'etc')}`,
    `install -d -m 0700 -o ${me} -g ${me} ${wrong}`, `install -d -m 0700 -o ${me} -g ${me} ${join(d, 'new')}`,
  ]);
});

test('etcd-apt-install.sh: a policy-rc.d refusing starts during the install, removed after (also on failure); one already there is kept', async () => {
  const d = scratch('apt');
  const policy = join(d, 'policy-rc.d');
  const s = remoteScriptUnchecked('etcd-apt-install', { PACKAGE: 'etcd-server', POLICY_RC: policy });
  const r = await box.run(s, { env: { FP_DIR: d } });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.calls, ['apt-get install -y -q --no-install-recommends etcd-server', 'policy says 101 with DEBIAN_FRONTEND=noninteractive']);
  assert.equal(existsSync(policy), false);
  const failed = await box.run(s, { env: { FP_DIR: d, FP_APT_EXIT: '100' } });
  assert.equal(failed.code, 100);
  assert.equal(existsSync(policy), false);
  writeFileSync(policy, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  const kept = await box.run(s, { env: { FP_DIR: d } });
  assert.equal(kept.code, 0, kept.stderr);
  assert.equal(readFileSync(policy, 'utf8'), '#!/bin/sh\nexit 0\n', "the host's own policy-rc.d stays");
});

function downDir(name: string) {
  const d = scratch(name);
  const conf = join(d, 'etc');
  mkdirSync(join(conf, 'pki'), { recursive: true });
  mkdirSync(join(d, 'data', 'member'), { recursive: true });
  mkdirSync(join(d, 'data.removed-20260101T000000'));
  for (const f of ['etcd.service', 'etc/bootstrap.env', 'etcd', 'etcd.sha256.0', 'etcd.sha256.1']) writeFileSync(join(d, f), 'x');
  const params = (purge: number): Record<string, ScriptValue> => ({
    FILES: [join(d, 'etcd.service'), join(d, 'etc/bootstrap.env'), join(d, 'etc/pki/ca.pem'), join(d, 'etcd')], SHA_CACHE: join(d, 'etcd.sha256'),
    PKI_DIR: join(conf, 'pki'), CONF_DIR: conf, DATA_DIR: join(d, 'data'), SET_ASIDE_SUFFIX: '.removed-', PURGE: purge,
  });
  return { d, params };
}

test('etcd-down.sh: etcd stopped and disabled, present files and sha caches removed, empty conf dirs gone, data kept and named', async () => {
  const { d, params } = downDir('down-keep');
  const r = await box.run(remoteScriptUnchecked('etcd-down', params(0)), { env: { FP_DIR: d } });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.split('\n').filter(Boolean), [
    'removed etcd.service (stopped, disabled)',
    ...['etcd.service', 'etc/bootstrap.env', 'etcd', 'etcd.sha256.0', 'etcd.sha256.1'].map((f) => `removed ${join(d, f)}`),
    `kept ${join(d, 'data')} (etcd's data; \`down --etcd --purge\` deletes it)`,
  ]);
  assert.deepEqual(changes(r.calls), ['systemctl disable --now -q etcd.service', 'systemctl reset-failed etcd.service', 'systemctl daemon-reload']);
  assert.deepEqual(readdirSync(d).sort(), ['data', 'data.removed-20260101T000000']);
});

test('etcd-down.sh --purge: the data dir and those set aside deleted; a unit neither active nor enabled is not stopped', async () => {
  const { d, params } = downDir('down-purge');
  const stopped = stubBox({ systemctl: 'case "$1" in is-active|is-enabled) exit 1 ;; esac; exit 0' }, BASE_TOOLS);
  try {
    const r = await stopped.run(remoteScriptUnchecked('etcd-down', params(1)));
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split('\n').filter(Boolean);
    assert.deepEqual(lines.slice(-2), [`removed ${join(d, 'data')} (data, --purge)`, `removed ${join(d, 'data.removed-20260101T000000')} (data, --purge)`]);
    assert.equal(lines.some((l) => l.includes('stopped, disabled')), false);
    assert.equal(r.calls.some((c) => c.startsWith('systemctl disable')), false);
    assert.deepEqual(readdirSync(d), []);
  } finally {
    stopped.close();
  }
});
