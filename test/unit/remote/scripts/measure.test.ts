/**
 * measure-*.sh (measure/scripts.ts) run by bash against stub ip/sysctl/setsid: setup wires the namespace
 * with the computed addresses, start launches one detached pinger per target, warmup names the silent
 * ones, stop interrupts only our pingers (a real `timeout … ping` process with a stub ping), returns their
 * logs gzip+base64 and removes everything.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { BASE_TOOLS, stubBox } from './harness.js';
import { abortScript, setupScript, startPingersScript, stopScript, warmupScript, MEASURE_DIR, MEASURE_NS } from '../../../../src/measure/scripts.js';
import { parseSections, section, sectionsNamed } from '../../../../src/remote/sections.js';
import { parseCidr } from '../../../../src/network/ipv4.js';

const box = stubBox({
  ip: `case "$*" in *'-j -4 addr show eth0') echo '[{"ifname":"eth0","addr_info":[{"family":"inet","local":"10.244.3.253"}]}]' ;; esac
exit 0`,
  sysctl: 'exit 0',
  setsid: 'exit 0',
}, [...BASE_TOOLS, 'gzip', 'basename']);
after(() => box.close());

/** The scripts name the real /run path; the tests run them on a scratch copy of it. */
function inBox(script: string, dir: string): string {
  return script.split(MEASURE_DIR).join(dir);
}

test('measure-setup.sh: replaces a leftover namespace, wires eth0 at the third-last address with docker0 as gateway, prints its address', async () => {
  const dir = join(box.dir, 'setup');
  const r = await box.run(inBox(setupScript(parseCidr('10.244.3.0/24')!), dir));
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.calls.filter((c) => c.startsWith('ip ')), [
    `ip netns del ${MEASURE_NS}`, 'ip link del fpmeas0',
    `ip netns add ${MEASURE_NS}`, 'ip link add fpmeas0 type veth peer name fpmeas1', `ip link set fpmeas1 netns ${MEASURE_NS}`,
    `ip -n ${MEASURE_NS} link set fpmeas1 name eth0`, `ip -n ${MEASURE_NS} link set lo up`, `ip -n ${MEASURE_NS} link set eth0 up`,
    `ip -n ${MEASURE_NS} addr add 10.244.3.253/24 dev eth0`, 'ip link set fpmeas0 up', 'ip addr add 10.244.3.1/32 dev fpmeas0',
    'ip route replace 10.244.3.253/32 dev fpmeas0', `ip -n ${MEASURE_NS} route add 10.244.3.1/32 dev eth0`,
    `ip -n ${MEASURE_NS} route add default via 10.244.3.1 dev eth0`, `ip -n ${MEASURE_NS} -j -4 addr show eth0`,
  ]);
  assert.ok(r.calls.includes('sysctl -qw net.ipv4.ip_forward=1'));
  assert.match(section(parseSections(r.stdout), 'addr')?.body ?? '', /"local":"10\.244\.3\.253"/);
  assert.equal(existsSync(dir), true);
});

test('measure-start.sh: one detached pinger per target under timeout, its PID recorded', async () => {
  const dir = join(box.dir, 'start');
  mkdirSync(dir, { recursive: true });
  const r = await box.run(inBox(startPingersScript([{ id: 't0', ip: '10.244.1.253' }, { id: 't2', ip: '10.244.2.253' }], 10, 600), dir));
  assert.equal(r.code, 0, r.stderr);
  // started in the background, not waited for: their stub log lines may come after the script ends, in any order
  let calls = r.calls;
  for (let i = 0; i < 100 && calls.length < 2; i++) {
    await sleep(20);
    calls = readFileSync(join(box.dir, 'calls.log'), 'utf8').split('\n').filter(Boolean);
  }
  assert.deepEqual([...calls].sort(), [1, 2].map((n) => `setsid nohup ip netns exec ${MEASURE_NS} timeout -s INT 600 ping -n -D -O -i 0.010 -W 1 10.244.${n}.253`));
  for (const id of ['t0', 't2']) assert.equal(existsSync(join(dir, `${id}.pid`)) && existsSync(join(dir, `${id}.log`)), true, id);
});

test('measure-warmup.sh: names the targets that have had no reply when the time is up', async () => {
  const dir = join(box.dir, 'warmup');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 't0.log'), '[1.0] 64 bytes from 10.244.1.253: icmp_seq=1 ttl=62 time=0.3 ms\n');
  writeFileSync(join(dir, 't1.log'), '[1.0] no answer yet for icmp_seq=1\n');
  const r = await box.run(inBox(warmupScript([{ id: 't0', ip: 'x' }, { id: 't1', ip: 'y' }, { id: 't2', ip: 'z' }], 0), dir));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(section(parseSections(r.stdout), 'silent')?.body.trim(), 't1 t2');
  writeFileSync(join(dir, 't1.log'), '64 bytes from\n');
  writeFileSync(join(dir, 't2.log'), '64 bytes from\n');
  const ok = await box.run(inBox(warmupScript([{ id: 't0', ip: 'x' }, { id: 't1', ip: 'y' }, { id: 't2', ip: 'z' }], 5), dir));
  assert.equal(section(parseSections(ok.stdout), 'silent')?.body.trim(), '');
});

/** A real pinger process as start leaves it: `timeout -s INT N ping -n -D …` writing DIR/t0.log, ping a stub that prints statistics on SIGINT. */
async function fakePinger(dir: string): Promise<number> {
  const bin = join(dir, 'pingbin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'ping'), "#!/bin/bash\ntrap 'echo \"--- statistics ---\"; exit 0' INT\necho '[1.0] 64 bytes from 10.0.0.1'\nwhile :; do sleep 0.05; done\n");
  chmodSync(join(bin, 'ping'), 0o755);
  const log = join(dir, 't0.log');
  const fd = openSync(log, 'w');
  const p = spawn('timeout', ['-s', 'INT', '30', 'ping', '-n', '-D', '10.0.0.1'], { env: { PATH: `${bin}:/usr/bin:/bin` }, detached: true, stdio: ['ignore', fd, 'ignore'] });
  closeSync(fd);
  while (!readFileSync(log, 'utf8').includes('bytes from')) await sleep(10);
  return p.pid!;
}

/** Whether `pid` still runs, waited for up to a second (node reaps its exited children asynchronously). */
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 50; i++) {
    try { process.kill(pid, 0); } catch { return true; }
    await sleep(20);
  }
  return false;
}

test('measure-stop.sh: interrupts our pinger only (not a reused PID), returns each log gzip+base64, removes everything', async () => {
  const dir = join(box.dir, 'stop');
  mkdirSync(dir, { recursive: true });
  const pid = await fakePinger(dir);
  writeFileSync(join(dir, 't0.pid'), `${pid}\n`);
  writeFileSync(join(dir, 't1.pid'), `${process.pid}\n`);
  writeFileSync(join(dir, 't1.log'), '[2.0] 64 bytes from 10.0.0.2\n');
  const r = await box.run(inBox(stopScript(), dir));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await gone(pid), true, 'the pinger is gone');
  const logs = new Map(sectionsNamed(parseSections(r.stdout), 'log').map((s) => [s.arg, gunzipSync(Buffer.from(s.body.trim(), 'base64')).toString()]));
  assert.deepEqual([...logs.keys()], ['t0', 't1']);
  assert.match(logs.get('t0')!, /--- statistics ---/, 'SIGINT reached ping, which wrote its statistics before the log was read');
  assert.equal(logs.get('t1'), '[2.0] 64 bytes from 10.0.0.2\n');
  assert.deepEqual(r.calls, [`ip netns del ${MEASURE_NS}`, 'ip link del fpmeas0']);
  assert.equal(existsSync(dir), false);
});

test('measure-abort.sh: kills our pinger, collects nothing, removes everything', async () => {
  const dir = join(box.dir, 'abort');
  mkdirSync(dir, { recursive: true });
  const pid = await fakePinger(dir);
  writeFileSync(join(dir, 't0.pid'), `${pid}\n`);
  const r = await box.run(inBox(abortScript(), dir));
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), '');
  assert.equal(await gone(pid), true, 'the pinger is gone');
  assert.equal(existsSync(dir), false);
});
