/**
 * e2e on the lab (issue 10): a non-root user with a password login and sudo that wants a password — the way
 * many Ansible users reach their machines. Over root SSH the test creates `fpuser` on every host (no
 * authorized_keys: only a password gets in), a sudoers entry that requires a password, and password logins
 * in sshd (h2 allows keyboard-interactive only; h3 has `Defaults:fpuser rootpw`, so its become password is
 * root's, a second secret). The inventory logs in as fpuser with `ansible_password` and
 * `ansible_become_password` from the environment and no key. Then:
 *   - `up` (JSON), a no-change `up -v` (text), `check` and `render` are green on every host;
 *   - a wrong login password and a wrong become password are exit 3 naming the host, the password not echoed;
 *   - no secret is anywhere: console, JSON events, run logs and everything else under XDG_CACHE_HOME, every
 *     host's journal (`journalctl -b`), every file the host wrote (its overlay upper dir, so the rendered
 *     units too), its /run and /tmp, and the argv and environment of every process seen on the hosts
 *     during the runs (a sampler runs `ps` and walks /proc every ~20 ms while flanprov works).
 * Each password has a random core that is searched for, so no escaping (JSON, shell) can hide a leak.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jsonEvents, Lab, LABS, ROOT, type Out } from './up-helpers.js';
import { cliArgv } from './cli-argv.js';

const USER = 'fpuser';
/** a password: a random core (what is searched for) wrapped in characters that need quoting everywhere */
const secret = (tag: string): { core: string; value: string } => {
  const core = `${tag}${randomBytes(9).toString('hex')}`;
  return { core, value: `p w'${core}"$HOME\\ #;!` };
};
const LOGIN = secret('fplogin');
const BECOME = LOGIN; // sudo asks for the user's own password...
const ROOTPW = secret('fproot'); // ...except on h3 (Defaults rootpw): root's
const WRONG = secret('fpwrong');
const CORES = [LOGIN.core, ROOTPW.core, WRONG.core];

/** Run a command with exactly this environment on top of a clean one (no ssh-agent: the password is the only way in). */
function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, input?: string, timeoutMs = 300_000): Promise<Out> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'SSH_AUTH_SOCK' && !k.startsWith('FP_E2E_')));
  const t0 = Date.now();
  return new Promise((resolve) => {
    const p = execFile(cmd, args, { env: { ...base, ...env }, timeout: timeoutMs, maxBuffer: 256 << 20, encoding: 'buffer' }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: stdout.toString('latin1'), stderr: stderr.toString('latin1'), ms: Date.now() - t0 });
    });
    p.stdin?.end(input ?? '');
  });
}

/** The secrets' cores found in a text (latin1, so binary journal and file bytes compare as they are). */
const leaks = (text: string): string[] => CORES.filter((c) => text.includes(c));

describe('a non-root user: password login, sudo with a password, nothing logged', { timeout: 900_000 }, () => {
  let lab: Lab;
  let dir: string;
  let inventory: string;
  let cache: string;
  const seen: { what: string; text: string }[] = [];
  const keep = (what: string, r: Out): Out => { seen.push({ what: `${what} stdout`, text: r.stdout }, { what: `${what} stderr`, text: r.stderr }); return r; };
  const sshDir = (): string => join(LABS, lab.name, 'ssh');
  /** root on a lab host, with `input` on stdin (passwords go there, never on a command line) */
  const asRoot = (ip: string, script: string, input = ''): Promise<Out> => run('ssh', ['-i', join(sshDir(), 'id_ed25519'), '-o', 'BatchMode=yes',
    '-o', `UserKnownHostsFile=${join(sshDir(), 'known_hosts')}`, '-o', 'StrictHostKeyChecking=yes', `root@${ip}`, script], {}, input, 120_000);
  const flanprov = (args: string[], env: NodeJS.ProcessEnv): Promise<Out> => run(process.execPath, cliArgv(...args),
    { XDG_CACHE_HOME: cache, FP_E2E_PW: LOGIN.value, FP_E2E_BECOME_PW: BECOME.value, FP_E2E_ROOT_PW: ROOTPW.value, ...env });

  before(async () => {
    lab = await Lab.up('usr');
    dir = mkdtempSync(join(tmpdir(), 'flanprov-e2e-user-'));
    cache = join(dir, 'cache');
    await Promise.all(lab.hosts.map(async (h) => {
      const sshd = h.name === 'h2' ? 'PasswordAuthentication no\nKbdInteractiveAuthentication yes\n' : 'PasswordAuthentication yes\nKbdInteractiveAuthentication yes\n';
      const rootpw = h.name === 'h3';
      const script = [
        'set -e',
        `useradd -m -s /bin/bash ${USER}`,
        // chpasswd reads user:password lines from stdin
        'chpasswd',
        `printf '%s\\n' '${USER} ALL=(ALL:ALL) ALL'${rootpw ? ` 'Defaults:${USER} rootpw'` : ''} > /etc/sudoers.d/${USER}`,
        `chmod 0440 /etc/sudoers.d/${USER}`,
        `visudo -cqf /etc/sudoers.d/${USER}`,
        // sshd_config includes sshd_config.d first and the first value wins: these beat "PasswordAuthentication no"
        `printf '${sshd.replace(/\n/g, '\\n')}' > /etc/ssh/sshd_config.d/10-passwords.conf`,
        'systemctl restart ssh',
      ].join('\n');
      const input = `${USER}:${LOGIN.value}\n${rootpw ? `root:${ROOTPW.value}\n` : ''}`;
      const r = await asRoot(h.ip, script, input);
      assert.equal(r.code, 0, `${h.name}: ${r.stdout}${r.stderr}`);
    }));
    inventory = join(dir, 'inventory.yml');
    writeFileSync(inventory, [
      'all:',
      '  vars:',
      '    flannel_network: 10.244.0.0/16',
      `    flannel_etcd_endpoints: ${lab.etcdEndpoint()}`,
      `    ansible_user: ${USER}`,
      `    ansible_password: "{{ lookup('env', 'FP_E2E_PW') }}"`,
      '    ansible_become: true',
      `    ansible_become_password: "{{ lookup('env', 'FP_E2E_BECOME_PW') }}"`,
      `    ansible_ssh_common_args: "-o UserKnownHostsFile=${join(sshDir(), 'known_hosts')} -o IdentitiesOnly=yes"`,
      '  children:',
      '    nodes:',
      '      hosts:',
      ...lab.hosts.map((h) => `        ${h.name}: { ansible_host: ${h.ip}${h.name === 'h3' ? `, ansible_become_password: "{{ lookup('env', 'FP_E2E_ROOT_PW') }}"` : ''} }`),
      '',
    ].join('\n'));
    // the sampler: every ~20 ms `ps` and the argv and environment of every process not seen before, into /run
    // (tmpfs); it stops when /run/fp-ps.stop appears (or after 15 minutes)
    const sampler = [
      'rm -f /run/fp-ps.stop /run/fp-ps.log /run/fp-proc.log',
      `nohup setsid bash --noprofile --norc -c '
        declare -A seen
        while [ ! -e /run/fp-ps.stop ] && [ $SECONDS -lt 900 ]; do
          ps -e -ww -o user=,pid=,args= >> /run/fp-ps.log
          for d in /proc/[0-9]*; do
            p=\${d#/proc/}; [ -n "\${seen[$p]}" ] && continue; seen[$p]=1
            { echo "== $p"; tr "\\0" " " < $d/cmdline; echo; tr "\\0" "\\n" < $d/environ; } >> /run/fp-proc.log 2>/dev/null
          done
          sleep 0.02
        done
        echo done > /run/fp-ps.done' > /dev/null 2>&1 < /dev/null &`,
    ].join('\n');
    await Promise.all(lab.hosts.map(async (h) => assert.equal((await asRoot(h.ip, sampler)).code, 0)));
  });

  after(async () => {
    if (lab) await lab.down();
  });

  it('up (JSON), a no-change up -v (text), check and render are green, over password logins and sudo with a password', async () => {
    const up = keep('up --output json', await flanprov(['up', '-i', inventory, '--output', 'json'], {}));
    assert.equal(up.code, 0, up.stdout + up.stderr);
    const summary = jsonEvents(up.stdout).find((e) => e.event === 'summary')!;
    assert.deepEqual(summary.hosts.map((h: { host: string; status: string }) => `${h.host} ${h.status}`).sort(), lab.hosts.map((h) => `${h.name} changed`));
    const again = keep('up -v', await flanprov(['up', '-i', inventory, '-v'], {}));
    assert.equal(again.code, 0, again.stdout + again.stderr);
    assert.match(again.stdout, /nothing to change|0 changed/);
    const check = keep('check', await flanprov(['check', '-i', inventory, '-v'], {}));
    assert.equal(check.code, 0, check.stdout + check.stderr);
    const render = keep('render', await flanprov(['render', '-i', inventory], {}));
    assert.equal(render.code, 0, render.stderr);
    assert.match(render.stdout, /flanneld\.service/);
    // the agent runs as root on each host, started through fpuser's sudo
    for (const h of lab.hosts) {
      const r = await asRoot(h.ip, 'systemctl is-active flanneld; cat /run/flannel/subnet.env');
      assert.match(r.stdout, /^active\n[\s\S]*FLANNEL_SUBNET=10\.244\./, `${h.name}: ${r.stdout}${r.stderr}`);
    }
  });

  it('a wrong login password: exit 3, authentication failed, naming each host; the password not echoed', async () => {
    const r = keep('up with a wrong login password', await flanprov(['up', '-i', inventory], { FP_E2E_PW: WRONG.value }));
    assert.equal(r.code, 3, r.stdout + r.stderr);
    const text = r.stdout + r.stderr;
    for (const h of lab.hosts) assert.match(text, new RegExp(`${h.name}\\b[^\\n]*authentication failed for ${USER}@${h.ip.replace(/\./g, '\\.')}`), text);
    assert.match(text, /password \(ansible_password\)/);
  });

  it('a wrong become password: exit 3 at connect, naming the host; the others are fine; the password not echoed', async () => {
    // h3 takes root's password (FP_E2E_ROOT_PW): a wrong FP_E2E_BECOME_PW fails h1 and h2 only
    const r = keep('up with a wrong become password', await flanprov(['up', '-i', inventory, '--output', 'json'], { FP_E2E_BECOME_PW: WRONG.value }));
    assert.equal(r.code, 3, r.stdout + r.stderr);
    const ev = jsonEvents(r.stdout);
    const failed = ev.filter((e) => e.event === 'host.result' && e.status === 'failed').map((e) => e.host).sort();
    assert.deepEqual(failed, ['h1', 'h2']);
    const err = ev.find((e) => e.event === 'error')!;
    assert.match(JSON.stringify(ev), new RegExp(`sudo rejected the become password of ${USER}`));
    assert.equal(err.exitCode ?? 3, 3);
    assert.ok(!ev.some((e) => e.event === 'phase.start' && e.phase === 'Gather facts'), 'no step ran after connect');
  });

  it('no secret anywhere: console, JSON, run logs, journals, files and /run on the hosts, argv and environment of every process', async () => {
    // stop the samplers first: what they saw is part of the evidence
    await Promise.all(lab.hosts.map((h) => asRoot(h.ip, 'touch /run/fp-ps.stop; for i in $(seq 100); do [ -e /run/fp-ps.done ] && exit 0; sleep 0.1; done; exit 1')));
    const problems: string[] = [];
    for (const s of seen) for (const c of leaks(s.text)) problems.push(`${s.what} holds ${c}`);
    // everything flanprov wrote on this machine: run logs, caches
    const files = (d: string): string[] => readdirSync(d).flatMap((n) => { const p = join(d, n); return statSync(p).isDirectory() ? files(p) : [p]; });
    const cached = files(cache);
    const runLogs = cached.filter((f) => /\/runs\/.*\.jsonl$/.test(f));
    assert.ok(runLogs.length >= 5, `run logs: ${runLogs.join(', ')}`);
    for (const f of cached) for (const c of leaks(readFileSync(f, 'latin1'))) problems.push(`${f} holds ${c}`);
    for (const h of lab.hosts) {
      const journal = await asRoot(h.ip, 'journalctl -b -o export --no-pager');
      assert.equal(journal.code, 0, journal.stderr);
      for (const c of leaks(journal.stdout)) problems.push(`${h.name}: the journal holds ${c}`);
      // the logins really were password logins (h2: keyboard-interactive only) and sudo really asked
      assert.match(journal.stdout, new RegExp(`Accepted ${h.name === 'h2' ? 'keyboard-interactive/pam' : 'password'} for ${USER}`), `${h.name}: sshd`);
      assert.match(journal.stdout, new RegExp(`MESSAGE=\\s*${USER} : .*COMMAND=/usr/bin/bash --noprofile --norc -s`), `${h.name}: sudo`);
      const ps = await asRoot(h.ip, 'cat /run/fp-ps.log');
      const proc = await asRoot(h.ip, 'cat /run/fp-proc.log');
      assert.match(ps.stdout, new RegExp(`^\\s*root\\s+\\d+\\s+sudo -k -S -p  -u root -- bash`, 'm'), `${h.name}: the sampler saw sudo run flanprov's scripts`);
      for (const c of leaks(ps.stdout)) problems.push(`${h.name}: a process's argv (ps) held ${c}`);
      for (const c of leaks(proc.stdout)) problems.push(`${h.name}: a process's argv or environment (/proc) held ${c}`);
      // /run, /tmp, /dev/shm (tmpfs: not in the overlay) and every file the host wrote (units, env files, logs)
      const tmpfs = await asRoot(h.ip, 'tar -cf - --exclude=/run/fp-ps.log --exclude=/run/fp-proc.log /run /tmp /dev/shm 2>/dev/null; true');
      for (const c of leaks(tmpfs.stdout)) problems.push(`${h.name}: a file in /run, /tmp or /dev/shm holds ${c}`);
      const upper = join(LABS, lab.name, 'hosts', h.name, 'upper');
      for (const c of CORES) {
        const g = await run('grep', ['-rlaF', '--', c, upper], {});
        if (g.code === 0) problems.push(`${h.name}: files hold ${c}: ${g.stdout.trim()}`);
        else assert.equal(g.code, 1, g.stderr);
      }
      assert.ok(readdirSync(join(upper, 'etc', 'systemd', 'system')).includes('flanneld.service'), 'the rendered units are in the upper dir');
    }
    assert.deepEqual(problems, []);
  });
});
