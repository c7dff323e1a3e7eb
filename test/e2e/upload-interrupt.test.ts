/**
 * e2e (issue 13.1): a push of a newer agent interrupted mid-transfer — SIGINT, SIGKILL, the connection
 * cut — never leaves a truncated agent in place: on a host that runs an older agent the old binary is
 * intact and runs, and the next `up` converges to the new one.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, ROOT, flanprov, sh } from './up-helpers.js';
import { cliArgv } from './cli-argv.js';

const AGENT = join(ROOT, 'dist', 'flanneld');
const BIN = '/usr/local/bin/flanneld';
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

/** `flanprov up` as a child process we can signal; resolves with its exit code when it ends. */
function startUp(inventory: string, env: NodeJS.ProcessEnv) {
  const p = spawn(process.execPath, cliArgv('up', inventory), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (b) => (out += b));
  p.stderr.on('data', (b) => (out += b));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }>((r) => p.on('exit', (code, signal) => r({ code, signal, out })));
  return { p, done };
}

describe('an interrupted agent push leaves the old agent intact (3-host lab)', { timeout: 600_000 }, () => {
  let lab: Lab;
  let newer: string;
  let oldSha: string;
  let newSha: string;

  before(async () => {
    lab = await Lab.up('e4ul');
    const r = await flanprov('up', lab.inventory);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    // A "newer" agent: the same executable with padding appended (ELF ignores trailing bytes), so it runs
    // and differs in its sha256 and length.
    newer = join(mkdtempSync(join(tmpdir(), 'flanprov-e2e-agent-')), 'flanneld');
    copyFileSync(AGENT, newer);
    appendFileSync(newer, Buffer.alloc(1 << 20, 0x5a));
    oldSha = sha(AGENT);
    newSha = sha(newer);
  });
  after(async () => { await lab?.down(); });
  /** this shell's address on the lab underlay (where flanprov's SSH connections come from) */
  const rootIp = () => lab.hosts[0]!.ip.replace(/\.\d+$/, '.254');

  /** Waits (on h1) until the upload's temporary file exists and holds less than half of the new agent. */
  async function whenUploading(): Promise<boolean> {
    const half = Math.floor(statSync(newer).size / 2);
    const r = await lab.ssh('h1', `for i in $(seq 1 4000); do for f in /usr/local/bin/.flanneld.flanprov-*; do [ -e "$f" ] || continue; s=$(stat -c %s "$f" 2>/dev/null || echo 0); [ "$s" -lt ${half} ] && { echo "$s"; exit 0; }; done; sleep 0.005; done; exit 1`);
    return r.code === 0;
  }

  async function hostsState(): Promise<{ host: string; sha: string; runs: boolean; active: string; temps: string }[]> {
    const outs = await lab.sshAll(`sha256sum ${BIN} | cut -c1-64; ${BIN} -version >/dev/null 2>&1 && echo runs || echo broken; systemctl is-active flanneld; ls -a /usr/local/bin | grep -c flanprov- || true`);
    return [...outs].map(([host, o]) => {
      const [s, runs, active, temps] = o.stdout.trim().split('\n');
      return { host, sha: s ?? '', runs: runs === 'runs', active: active ?? '', temps: temps ?? '' };
    });
  }

  // SIGINT and SIGKILL run with the default agent source (auto: peers, h1 is the seed the controller pushes
  // to); the cut runs with push, so every host's connection is carrying the agent when it is cut: a host left
  // idle (waiting for its peer copy) never sends on its connection, so its sshd does not learn of the reset
  // and keeps that run's host lock until the lock's heartbeat grace (HEARTBEAT_GRACE_S, 20 s) ends it, which
  // would refuse the next `up` here
  const faults: { name: string; transfer: 'none' | 'gzip'; push?: boolean; act: (p: ReturnType<typeof startUp>['p']) => Promise<void>; undo?: () => Promise<void> }[] = [
    { name: 'SIGINT', transfer: 'none', act: async (p) => { p.kill('SIGINT'); } },
    { name: 'SIGKILL', transfer: 'none', act: async (p) => { p.kill('SIGKILL'); } },
    {
      name: 'the connection cut (TCP reset by the hosts)', transfer: 'gzip', push: true,
      act: async () => {
        // every packet the controller sends to sshd from now on is answered with a reset
        await Promise.all(lab.hosts.map((h) => sh('ip', ['netns', 'exec', `fpl-${lab.name}-${h.name}`, 'iptables', '-I', 'INPUT', '-p', 'tcp', '--dport', '22', '-s', rootIp(), '-j', 'REJECT', '--reject-with', 'tcp-reset'])));
      },
      undo: async () => {
        await Promise.all(lab.hosts.map((h) => sh('ip', ['netns', 'exec', `fpl-${lab.name}-${h.name}`, 'iptables', '-D', 'INPUT', '-p', 'tcp', '--dport', '22', '-s', rootIp(), '-j', 'REJECT', '--reject-with', 'tcp-reset'])));
      },
    },
  ];

  for (const f of faults) {
    it(`${f.name} during the push (${f.transfer}): every agent binary whole, the old one on the host caught mid-transfer, the next up converges`, async () => {
      const inv = lab.variant((i) => {
        i.all.vars.flannel_transfer_compression = f.transfer;
        if (f.push) i.all.vars.flannel_agent_source = 'push';
      });
      const run = startUp(inv, { FLANPROV_AGENT: newer });
      const caught = await Promise.race([whenUploading(), run.done.then(() => false)]);
      if (!caught) {
        run.p.kill('SIGKILL');
        assert.fail(`the upload to h1 was not seen in flight; flanprov said:\n${(await run.done).out}`);
      }
      await f.act(run.p);
      const end = await Promise.race([run.done, new Promise<undefined>((r) => setTimeout(() => r(undefined), 60_000))]);
      if (!end) run.p.kill('SIGKILL');
      console.log(`# ${f.name}: flanprov ended with ${end ? (end.signal ?? `exit ${end.code}`) : 'a timeout (killed)'}`);
      await f.undo?.();
      const state = await hostsState();
      for (const s of state) {
        assert.ok(s.sha === oldSha || s.sha === newSha, `${s.host}: the agent is neither the old nor the new one (${s.sha})`);
        assert.ok(s.runs, `${s.host}: the agent binary runs`);
        assert.equal(s.active, 'active', `${s.host}: flanneld still active`);
      }
      assert.equal(state.find((s) => s.host === 'h1')!.sha, oldSha, 'h1, caught mid-transfer, still has the old agent');
      if (f.name !== 'the connection cut (TCP reset by the hosts)') {
        // the host saw the stream end: its script removed the temporary file (a cut it never notices leaves one, renamed never)
        for (const s of state) assert.equal(s.temps, '0', `${s.host}: no temporary file left`);
      }
      const again = await startUp(inv, { FLANPROV_AGENT: newer }).done;
      assert.equal(again.code, 0, again.out);
      for (const s of await hostsState()) assert.equal(s.sha, newSha, `${s.host} converged to the new agent`);
      // back to the old agent for the next fault
      const back = await flanprov('up', lab.inventory);
      assert.equal(back.code, 0, back.stdout + back.stderr);
    });
  }
});
