/**
 * e2e (issue 8.1-8.3): the host lock (a second run refused at once naming the holder; two runs started
 * together: one wins), Ctrl-C at several points of `up` and `switch-backend` (exit 130, the hosts
 * consistent, a switch rolled back, the next `up` converges), and the run log.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lab, ROOT, UNIT_STATE, flanprov, jsonEvents, parseUnitState, sh } from './up-helpers.js';
import { cliArgv } from './cli-argv.js';

/** A flanprov run as a child process; `whenEvent` resolves at the first JSON event that matches. */
function start(args: string[], env: NodeJS.ProcessEnv = {}) {
  const p = spawn(process.execPath, cliArgv(...args), { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const watchers: { pred: (e: Record<string, any>) => boolean; resolve: () => void }[] = [];
  let pending = '';
  p.stdout.on('data', (b: Buffer) => {
    out += b;
    pending += b;
    let i;
    while ((i = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, i);
      pending = pending.slice(i + 1);
      let ev: Record<string, any> | undefined;
      try { ev = JSON.parse(line) as Record<string, any>; } catch { continue; }
      for (const w of watchers.splice(0)) { if (w.pred(ev)) w.resolve(); else watchers.push(w); }
    }
  });
  p.stderr.on('data', (b: Buffer) => (err += b));
  const done = new Promise<{ code: number | null; out: string; err: string }>((r) => p.on('exit', (code) => r({ code, out, err })));
  const whenEvent = (pred: (e: Record<string, any>) => boolean) => new Promise<void>((resolve) => watchers.push({ pred, resolve }));
  return { p, done, whenEvent };
}

describe('safe to run twice, safe to interrupt (3-host lab)', { timeout: 900_000 }, () => {
  let lab: Lab;
  let home: string;
  const env = () => ({ HOME: home, XDG_CACHE_HOME: join(home, '.cache') });
  const storedBackend = async () => {
    const r = await sh('etcdctl', ['--endpoints', lab.etcdEndpoint(), 'get', '--print-value-only', '/coreos.com/network/config']);
    return (JSON.parse(r.stdout) as { Backend: { Type: string } }).Backend.Type;
  };
  const holderOn = (host: string) => lab.ssh(host, 'cat /run/flanprov/holder.* 2>/dev/null');

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'flanprov-e2e-home-'));
    lab = await Lab.up('e4sf');
    const r = await flanprov('up', lab.inventory);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  });
  after(async () => { await lab?.down(); });

  it('while up holds the hosts, a second up and a check are refused at once with exit 6 naming the holder; the first one is green', async () => {
    const inv = lab.variant((i) => { i.all.vars.flannel_ip_masq = false; });
    const a = start(['up', inv, '--output', 'json'], env());
    await a.whenEvent((e) => e.event === 'phase.end' && e.phase === 'Lock hosts');
    // Hold run A right there (its connections and locks stay; its heartbeat pauses, within the 20 s grace)
    // so the other runs certainly meet it, however slowly this shared machine starts them.
    a.p.kill('SIGSTOP');
    let b, c;
    const t0 = Date.now();
    try {
      [b, c] = await Promise.all([flanprov('up', lab.inventory), flanprov('check', '-i', lab.inventory)]);
    } finally {
      a.p.kill('SIGCONT');
    }
    const refusedMs = Date.now() - t0;
    assert.equal(b.code, 6, b.stdout + b.stderr);
    assert.match(b.stdout + b.stderr, /another flanprov run holds the lock on this host: \S+@\S+ \(pid \d+\) running `flanprov up` since \d{4}-\d\d-\d\dT[\d:.]+Z \[exclusive\]/);
    assert.equal(c.code, 6, c.stdout + c.stderr);
    const ra = await a.done;
    assert.equal(ra.code, 0, ra.out + ra.err);
    console.log(`# a second up and a check were refused within ${(refusedMs / 1000).toFixed(1)} s (whole commands, Node start-up included)`);
    // the lock went with the run
    for (const h of lab.hosts) assert.equal((await holderOn(h.name)).stdout.trim(), '', `${h.name}: no holder left`);
    const back = await flanprov('up', lab.inventory);
    assert.equal(back.code, 0, back.stdout + back.stderr);
  });

  it('two ups started at the same moment: they never interleave — one is green, any other is refused with exit 6', async () => {
    const runs = await Promise.all([flanprov('up', lab.inventory), flanprov('up', lab.inventory)]);
    const codes = runs.map((r) => r.code).sort();
    assert.ok(codes[0] === 0, `one run is green: ${codes.join(', ')}\n${runs.map((r) => r.stdout + r.stderr).join('\n---\n')}`);
    assert.ok(codes[1] === 0 || codes[1] === 6, `the other is green (they did not overlap) or refused: ${codes.join(', ')}`);
    console.log(`# two simultaneous ups: exit codes ${codes.join(' and ')}`);
  });

  it('Ctrl-C during Start: exit 130, the summary names every host, the next up converges and verifies', async () => {
    const inv = lab.variant((i) => { i.all.vars.flannel_ip_masq = false; });
    const a = start(['up', inv, '--output', 'json'], env());
    await a.whenEvent((e) => e.event === 'phase.start' && e.phase === 'Start');
    a.p.kill('SIGINT');
    const r = await a.done;
    assert.equal(r.code, 130, r.out + r.err);
    const evs = jsonEvents(r.out);
    const summary = evs.find((e) => e.event === 'summary')!;
    assert.equal(summary.exitCode, 130);
    assert.deepEqual(summary.hosts.map((h: { host: string }) => h.host).sort(), lab.hosts.map((h) => h.name).sort());
    assert.ok(evs.some((e) => e.event === 'error' && /interrupted by SIGINT: "Start" was finished or undone/.test(e.message)), r.out);
    assert.ok(!evs.some((e) => e.event === 'phase.start' && e.phase === 'Verify'), 'nothing started after the interrupt');
    const again = await flanprov('up', inv);
    assert.equal(again.code, 0, again.stdout + again.stderr);
    const back = await flanprov('up', lab.inventory);
    assert.equal(back.code, 0, back.stdout + back.stderr);
  });

  for (const [when, pred] of [
    ['while the agents move', (e: Record<string, any>) => e.event === 'phase.start' && e.phase === 'Wait for agents'],
    ['right after the config was written', (e: Record<string, any>) => e.event === 'phase.end' && e.phase === 'Write config'],
  ] as const) {
    it(`Ctrl-C during switch-backend host-gw ${when}: exit 130, the config rolled back to vxlan, every agent on vxlan, up converges`, async () => {
      assert.equal(await storedBackend(), 'vxlan');
      const a = start(['switch-backend', 'host-gw', '-i', lab.inventory, '--output', 'json'], env());
      await a.whenEvent(pred);
      a.p.kill('SIGINT');
      const r = await a.done;
      assert.equal(r.code, 130, r.out + r.err);
      assert.match(r.out, /rolled .*config.* back to vxlan|rolling it back|rolling the config back/);
      assert.equal(await storedBackend(), 'vxlan', 'the config in etcd is vxlan again');
      const st = await flanprov('status', '-i', lab.inventory, '--output', 'json');
      assert.equal(st.code, 0, st.stdout + st.stderr);
      const up = await flanprov('up', lab.inventory);
      assert.equal(up.code, 0, up.stdout + up.stderr);
      for (const [h, o] of await lab.sshAll('ip -d link show flannel.1 >/dev/null && echo vxlan; ip route | grep -c "via .* dev eth0" || true')) {
        assert.match(o.stdout, /^vxlan/, `${h}: flannel.1 is there`);
      }
    });
  }

  it('a config that only writes flannel\'s defaults out: no agent restart, no pending change, up says no change', async () => {
    const before = new Map([...(await lab.sshAll(UNIT_STATE))].map(([h, o]) => [h, parseUnitState(o.stdout).flanneld]));
    const explicit = JSON.stringify({ Network: '10.244.0.0/16', SubnetLen: 24, EnableIPv4: true, Backend: { Type: 'vxlan', VNI: 1, Port: 8472, DirectRouting: false } });
    const put = await sh('etcdctl', ['--endpoints', lab.etcdEndpoint(), 'put', '/coreos.com/network/config', explicit]);
    assert.equal(put.code, 0, put.stderr);
    await new Promise((r) => setTimeout(r, 2000));
    for (const [h, o] of await lab.sshAll('exec 3<>/dev/tcp/127.0.0.1/8471; printf "GET /status HTTP/1.0\\r\\n\\r\\n" >&3; cat <&3')) {
      const st = JSON.parse(o.stdout.slice(o.stdout.indexOf('{'))) as { pendingConfigChange: string | null; activeBackends: string[] };
      assert.equal(st.pendingConfigChange, null, `${h}: the agent sees no change that needs a restart`);
      assert.deepEqual(st.activeBackends, ['vxlan']);
    }
    const inv = lab.variant((i) => { i.all.vars.flannel_vni = 1; i.all.vars.flannel_port = 8472; });
    const r = await flanprov('up', inv, '--output', 'json');
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.ok(jsonEvents(r.stdout).some((e) => e.event === 'log' && /no change/.test(e.message)), 'up: no change');
    const after = new Map([...(await lab.sshAll(UNIT_STATE))].map(([h, o]) => [h, parseUnitState(o.stdout).flanneld]));
    assert.deepEqual(after, before, 'no agent was restarted');
  });

  it('every run left a JSON run log under ~/.cache/flanprov/runs (no secret in it); a failed run prints its path', async () => {
    const dir = join(home, '.cache', 'flanprov', 'runs');
    assert.ok(existsSync(dir), 'run log directory');
    const logs = readdirSync(dir).filter((f) => f.endsWith('.jsonl'));
    assert.ok(logs.some((f) => /-switch-backend\.jsonl$/.test(f)) && logs.some((f) => /-up\.jsonl$/.test(f)), logs.join(' '));
    for (const f of logs) {
      const lines = readFileSync(join(dir, f), 'utf8').trim().split('\n');
      for (const l of lines) JSON.parse(l);
      assert.equal(JSON.parse(lines.at(-1)!).event, 'summary', `${f} ends with the summary`);
    }
    const bad = lab.rawVariant((t) => t.replace('flannel_backend: vxlan', 'flannel_backend: [vxlan'));
    const r = await new Promise<{ code: number | null; out: string }>((res) => {
      const p = spawn(process.execPath, cliArgv('up', bad), { env: { ...process.env, ...env() } });
      let out = '';
      p.stdout.on('data', (b) => (out += b)); p.stderr.on('data', (b) => (out += b));
      p.on('exit', (code) => res({ code, out }));
    });
    assert.equal(r.code, 2);
    assert.match(r.out, new RegExp(`run log: ${dir.replace(/[.]/g, '\\.')}/\\S+-up\\.jsonl`));
  });
});
