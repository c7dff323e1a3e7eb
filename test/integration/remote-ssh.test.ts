/**
 * src/remote against real OpenSSH servers, in network namespaces this test creates (nothing in the root
 * namespace). Topology:  client ns (fpr<id>c, 10.213.1.1) ── jump ns (fpr<id>j, sshd 10.213.1.2 and
 * 10.213.2.1, no forwarding) ── target ns (fpr<id>t, sshd 10.213.2.2). The client cannot route to the target.
 *
 * The parent process (root namespace) builds the namespaces and starts the sshds (each in a private mount
 * namespace with its own /run, so /run/sshd is not created on the machine), then re-runs this file with
 * `ip netns exec <client ns>`; the child (FP_SSH_FIXTURE set) holds the real tests.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, chmodSync, existsSync, copyFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConnection } from 'node:net';
import { connectHost } from '../../src/remote/connection.js';
import { ConnectError } from '../../src/remote/errors.js';
import type { ConnectionSpec as Spec } from '../../src/inventory/types.js';

interface Fixture { dir: string; jumpAddr: string; targetAddr: string; key: string; jumpHostKeyPub: string; targetHostKeyPub: string }

const fixtureEnv = process.env.FP_SSH_FIXTURE;
/** the child's test() count below */
const SCENARIOS = 8;

if (!fixtureEnv) {
  // ---------------- parent: namespaces + sshd ----------------
  const id = `${process.pid % 100000}`;
  const ns = { c: `fpr${id}c`, j: `fpr${id}j`, t: `fpr${id}t` };
  const pids: number[] = [];
  let dir = '';
  const sh = (...args: string[]): string => execFileSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  const inNs = (n: string, ...args: string[]): string => sh('ip', 'netns', 'exec', n, ...args);

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'fpr-ssh-'));
    chmodSync(dir, 0o755);
    for (const n of Object.values(ns)) { sh('ip', 'netns', 'add', n); inNs(n, 'ip', 'link', 'set', 'lo', 'up'); }
    sh('ip', 'link', 'add', 'fprc0', 'netns', ns.c, 'type', 'veth', 'peer', 'name', 'fprj0', 'netns', ns.j);
    sh('ip', 'link', 'add', 'fprj1', 'netns', ns.j, 'type', 'veth', 'peer', 'name', 'fprt0', 'netns', ns.t);
    inNs(ns.c, 'ip', 'addr', 'add', '10.213.1.1/24', 'dev', 'fprc0'); inNs(ns.c, 'ip', 'link', 'set', 'fprc0', 'up');
    inNs(ns.j, 'ip', 'addr', 'add', '10.213.1.2/24', 'dev', 'fprj0'); inNs(ns.j, 'ip', 'link', 'set', 'fprj0', 'up');
    inNs(ns.j, 'ip', 'addr', 'add', '10.213.2.1/24', 'dev', 'fprj1'); inNs(ns.j, 'ip', 'link', 'set', 'fprj1', 'up');
    inNs(ns.t, 'ip', 'addr', 'add', '10.213.2.2/24', 'dev', 'fprt0'); inNs(ns.t, 'ip', 'link', 'set', 'fprt0', 'up');
    sh('ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'flanprov-test', '-f', join(dir, 'client_key'));
    copyFileSync(join(dir, 'client_key.pub'), join(dir, 'authorized_keys'));
    for (const [name, n, addr] of [['jump', ns.j, '10.213.1.2'], ['target', ns.t, '10.213.2.2']] as const) {
      sh('ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-f', join(dir, `${name}_host_key`));
      const cfg = join(dir, `${name}_sshd_config`);
      writeFileSync(cfg, [
        `ListenAddress ${addr}`, 'Port 22', `HostKey ${join(dir, `${name}_host_key`)}`, `PidFile ${join(dir, `${name}.pid`)}`,
        `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`, 'PermitRootLogin prohibit-password', 'UsePAM no',
        'StrictModes no', 'AllowTcpForwarding yes', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no',
        'Subsystem sftp /usr/lib/openssh/sftp-server', 'LogLevel ERROR', 'MaxSessions 20', 'MaxStartups 50',
      ].join('\n') + '\n');
      // A private mount namespace with its own /run gives sshd its privsep dir without touching the machine.
      const p = spawn('ip', ['netns', 'exec', n, 'unshare', '--mount', '--propagation', 'private', 'sh', '-c',
        // An empty /root too: this machine's root ~/.bashrc (pyenv) costs ~100 ms per command; lab hosts have none.
        'mount -t tmpfs fprsshd /run && mkdir -m 755 /run/sshd && mount -t tmpfs fprhome /root && exec /usr/sbin/sshd -D -e -f "$0"', cfg],
      { stdio: ['ignore', 'ignore', 'inherit'] });
      pids.push(p.pid!);
    }
    // wait for both sshds to listen
    const deadline = Date.now() + 5000;
    for (const [n, addr] of [[ns.j, '10.213.1.2'], [ns.t, '10.213.2.2']] as const) {
      while (spawnSync('ip', ['netns', 'exec', n, 'bash', '-c', `exec 3<>/dev/tcp/${addr}/22`]).status !== 0) {
        if (Date.now() > deadline) throw new Error(`sshd on ${addr} did not start`);
        spawnSync('sleep', ['0.05']);
      }
    }
  });

  /** The child is a separate test run: without NODE_TEST_CONTEXT it runs its tests; without an agent, keys only. */
  const childEnv = (): NodeJS.ProcessEnv => {
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    delete env.SSH_AUTH_SOCK;
    return env;
  };

  const cleanup = (): void => {
    for (const pid of pids) { try { process.kill(pid, 'SIGTERM'); } catch { /* already gone */ } }
    for (const n of Object.values(ns)) if (dir) spawnSync('ip', ['netns', 'del', n]);
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = '';
    pids.length = 0;
  };
  after(cleanup);
  process.on('exit', cleanup);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => { cleanup(); process.exit(130); });

  test('remote: real sshd scenarios (run inside the client namespace)', () => {
    const fx: Fixture = {
      dir, jumpAddr: '10.213.1.2', targetAddr: '10.213.2.2', key: join(dir, 'client_key'),
      jumpHostKeyPub: readFileSync(join(dir, 'jump_host_key.pub'), 'utf8'), targetHostKeyPub: readFileSync(join(dir, 'target_host_key.pub'), 'utf8'),
    };
    const r = spawnSync('ip', ['netns', 'exec', ns.c, process.execPath, '--import', 'tsx', '--test', '--test-reporter=spec', ...(process.env.FP_SSH_ONLY ? ['--test-name-pattern', process.env.FP_SSH_ONLY] : []), __filename], {
      env: { ...childEnv(), FP_SSH_FIXTURE: JSON.stringify(fx) }, encoding: 'utf8', timeout: 240_000,
    });
    process.stdout.write(r.stdout.split('\n').map((l) => `    ${l}`).join('\n') + '\n');
    if (r.stderr) process.stderr.write(r.stderr);
    assert.equal(r.status, 0, 'scenario tests inside the client namespace failed (see above)');
    const passed = Number(/^ℹ pass (\d+)/m.exec(r.stdout)?.[1] ?? 0);
    // every scenario must have run: a child that ran none (or skipped some) exits 0 too
    if (!process.env.FP_SSH_ONLY) assert.equal(passed, SCENARIOS, `expected the ${SCENARIOS} scenarios to run and pass, ${passed} passed`);
    else assert.ok(passed > 0, `no scenario matched FP_SSH_ONLY=${process.env.FP_SSH_ONLY}`);
  });
} else {
  // ---------------- child: the scenarios ----------------
  const fx = JSON.parse(fixtureEnv) as Fixture;
  const kh = join(fx.dir, 'known_hosts');
  const line = (host: string, pub: string): string => `${host} ${pub.trim().split(/\s+/).slice(0, 2).join(' ')}\n`;
  const spec = (over: Partial<Spec> = {}): Spec => ({
    transport: 'ssh', host: fx.jumpAddr, port: 22, user: 'root', identityFiles: [fx.key], identityExplicit: true, useAgent: false, identitiesOnly: false,
    knownHostsFile: kh, strictHostKeyChecking: 'yes', proxyJump: [], connectTimeoutMs: 5000, become: false, becomeUser: 'root', ...over,
  });
  const fingerprintOf = (pub: string): string => `SHA256:${createHash('sha256').update(Buffer.from(pub.trim().split(/\s+/)[1]!, 'base64')).digest('base64').replace(/=+$/, '')}`;

  test('unknown host key is refused with its SHA256 fingerprint', { timeout: 60_000 }, async () => {
    rmSync(kh, { force: true });
    await assert.rejects(connectHost('j', spec()), (e: unknown) => {
      assert.ok(e instanceof ConnectError);
      assert.equal(e.kind, 'host-key');
      assert.equal(e.exitCode, 3);
      assert.match(e.message + (e.hint ?? ''), new RegExp(fingerprintOf(fx.jumpHostKeyPub).replace(/[+/]/g, '\\$&')));
      return true;
    });
    assert.equal(existsSync(kh), false, 'nothing written without accept-new');
  });

  test('accept-new appends the key; the next connect matches it', { timeout: 60_000 }, async () => {
    rmSync(kh, { force: true });
    const h = await connectHost('j', spec({ strictHostKeyChecking: 'accept-new' }));
    await h.close();
    assert.equal(readFileSync(kh, 'utf8'), line(fx.jumpAddr, fx.jumpHostKeyPub));
    const h2 = await connectHost('j', spec());
    await h2.close();
  });

  test('a changed host key is refused even with accept-new', { timeout: 60_000 }, async () => {
    const other = execFileSync('bash', ['-c', `ssh-keygen -q -t ed25519 -N '' -f ${fx.dir}/other && cat ${fx.dir}/other.pub`], { encoding: 'utf8' });
    writeFileSync(kh, line(fx.jumpAddr, other));
    await assert.rejects(connectHost('j', spec({ strictHostKeyChecking: 'accept-new' })), (e: unknown) => {
      assert.ok(e instanceof ConnectError);
      assert.equal(e.kind, 'host-key');
      assert.match(e.message, /HAS CHANGED/);
      assert.match(e.message, new RegExp(fingerprintOf(other).replace(/[+/]/g, '\\$&')));
      return true;
    });
    assert.equal(readFileSync(kh, 'utf8'), line(fx.jumpAddr, other), 'known_hosts untouched');
  });

  test('hashed known_hosts entries match', { timeout: 60_000 }, async () => {
    writeFileSync(kh, line(fx.jumpAddr, fx.jumpHostKeyPub));
    execFileSync('ssh-keygen', ['-q', '-H', '-f', kh]);
    assert.match(readFileSync(kh, 'utf8'), /^\|1\|/);
    const h = await connectHost('j', spec());
    await h.close();
  });

  test('auth failure and unreachable are distinct errors', { timeout: 60_000 }, async () => {
    writeFileSync(kh, line(fx.jumpAddr, fx.jumpHostKeyPub));
    await assert.rejects(connectHost('j', spec({ identityFiles: [join(fx.dir, 'other')] })), (e: unknown) => e instanceof ConnectError && e.kind === 'auth');
    await assert.rejects(connectHost('j', spec({ port: 2299 })), (e: unknown) => e instanceof ConnectError && e.kind === 'unreachable' && /refused/.test(e.message));
    await assert.rejects(connectHost('t', spec({ host: fx.targetAddr, connectTimeoutMs: 1000 })), (e: unknown) => e instanceof ConnectError && (e.kind === 'unreachable' || e.kind === 'timeout'));
  });

  test('run: scripts, exit codes, stdin input, env; exec latency', { timeout: 60_000 }, async () => {
    writeFileSync(kh, line(fx.jumpAddr, fx.jumpHostKeyPub));
    const h = await connectHost('j', spec());
    try {
      const r = await h.run('echo out; echo err >&2; exit 7');
      assert.deepEqual([r.stdout, r.stderr, r.code], ['out\n', 'err\n', 7]);
      const r2 = await h.run('read -r x || true; echo "stdin after the script: [$x]"');
      assert.equal(r2.stdout, 'stdin after the script: []\n', 'a command reading stdin cannot swallow the rest of the script');
      const r3 = await h.run('echo "$X"', { env: { X: "it's" } });
      assert.equal(r3.stdout, "it's\n");
      await assert.rejects(h.runChecked('echo boom >&2; exit 3', { what: 'probe' }), /probe failed \(exit 3\):\s+boom/);
      const n = 50;
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < n; i++) await h.run('true');
      const ms = Number(process.hrtime.bigint() - t0) / 1e6 / n;
      console.log(`# figure: sequential run('true') over one connection: ${ms.toFixed(2)} ms each (${n} runs)`);
      const t1 = process.hrtime.bigint();
      await Promise.all(Array.from({ length: 8 }, () => h.run('true')));
      console.log(`# figure: 8 concurrent run('true'): ${(Number(process.hrtime.bigint() - t1) / 1e6).toFixed(1)} ms total`);
    } finally { await h.close(); }
  });

  test('putFile: temp name + rename replaces a running executable; sha256; all transfer modes', { timeout: 60_000 }, async () => {
    writeFileSync(kh, line(fx.jumpAddr, fx.jumpHostKeyPub));
    const h = await connectHost('j', spec());
    const rdir = `${fx.dir}/remote`;
    const remoteSha = async (p: string) => { const r = await h.run(`[ -e ${p} ] && sha256sum ${p}`); return r.code === 0 ? r.stdout.slice(0, 64) : null; };
    try {
      const exe = `${rdir}/bin/sleeper`;
      await h.putFile('/bin/sleep', exe, { mode: 0o755 });
      const started = await h.runChecked(`${exe} 30 >/dev/null 2>&1 & echo $!`);
      const pid = Number(started.stdout.trim());
      try {
        const busy = await h.run(`cp /bin/true ${exe}`);
        assert.notEqual(busy.code, 0, 'writing in place must fail (text file busy): the test would not prove anything otherwise');
        for (const transfer of ['gzip', 'plain', 'sftp'] as const) {
          const res = await h.putFile('/bin/true', exe, { mode: 0o750, transfer });
          assert.equal(res.transfer, transfer);
          assert.equal(await remoteSha(exe), createHash('sha256').update(readFileSync('/bin/true')).digest('hex'));
          const st = await h.runChecked(`stat -c %a ${exe}; ls -a ${rdir}/bin | grep -c flanprov || true`);
          assert.deepEqual(st.stdout.trim().split('\n'), ['750', '0'], 'mode set, no temporary file left');
        }
        const alive = await h.run(`kill -0 ${pid}`);
        assert.equal(alive.code, 0, 'the running process was not disturbed');
      } finally { await h.run(`kill ${pid}`); }
      await h.putFile(Buffer.from('a=1\n'), `${rdir}/etc/x.env`, { mode: 0o600 });
      assert.equal((await h.runChecked(`cat ${rdir}/etc/x.env; stat -c %a ${rdir}/etc/x.env`)).stdout, 'a=1\n600\n');
      assert.equal(await remoteSha(`${rdir}/nope`), null);
      // figures: the 99 MB agent-sized file (node itself) plain vs gzip -1 vs sftp
      for (const transfer of ['sftp', 'plain', 'gzip', 'gzip'] as const) {
        const r = await h.putFile(process.execPath, `${rdir}/big`, { mode: 0o755, transfer });
        console.log(`# figure: putFile ${(r.bytes / 1e6).toFixed(1)} MB ${transfer}: ${r.ms} ms (${(r.wireBytes / 1e6).toFixed(1)} MB on the wire)`);
      }
      const t0 = Date.now();
      await remoteSha(`${rdir}/big`);
      console.log(`# figure: remote sha256 of it: ${Date.now() - t0} ms`);
    } finally { await h.close(); }
  });

  test('ProxyJump: the target is reachable only through the jump host; tunnel', { timeout: 60_000 }, async () => {
    writeFileSync(kh, line(fx.jumpAddr, fx.jumpHostKeyPub));
    const t = spec({ host: fx.targetAddr, proxyJump: [{ host: fx.jumpAddr, port: 22, user: 'root' }], strictHostKeyChecking: 'accept-new' });
    const h = await connectHost('t', t);
    try {
      assert.match(readFileSync(kh, 'utf8'), new RegExp(`^${fx.targetAddr.replace(/\./g, '\\.')} ssh-ed25519 `, 'm'), 'target key added (accept-new)');
      const r = await h.runChecked('ip -4 -o addr show fprt0');
      assert.match(r.stdout, /10\.213\.2\.2/);
      // tunnel: from here, through the SSH connection, to the target's own sshd (bound to 10.213.2.2 only)
      const tun = await h.tunnel(fx.targetAddr, 22);
      try {
        const banner = await new Promise<string>((resolve, reject) => {
          const c = createConnection(tun.port, '127.0.0.1');
          c.once('data', (d) => { resolve(d.toString()); c.destroy(); });
          c.once('close', () => reject(new Error('tunnel closed without data')));
          c.on('error', reject);
        });
        assert.match(banner, /^SSH-2\.0-OpenSSH/);
        // a tunnel to a closed port: the local connection is closed, nothing hangs
        const bad = await h.tunnel('127.0.0.1', 1);
        await new Promise<void>((resolve) => { const c = createConnection(bad.port, '127.0.0.1'); c.on('close', () => resolve()); c.on('error', () => undefined); });
        await bad.close();
      } finally { await tun.close(); }
      const t0 = Date.now();
      for (let i = 0; i < 20; i++) await h.run('true');
      console.log(`# figure: run('true') through one jump host: ${((Date.now() - t0) / 20).toFixed(2)} ms each`);
    } finally { await h.close(); }
  });
}
