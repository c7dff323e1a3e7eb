import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { holderLine, lockScript, readLockAnswer, type LockMode } from '../../../src/remote/host-lock.js';
import { BASE_TOOLS, stubBox } from './scripts/harness.js';

/** The lock script run locally with bash, as a host runs it over an SSH channel. */
function holder(dir: string, mode: LockMode, name: string, graceS = 20) {
  const p = spawn('bash', ['-c', lockScript(mode, name, { dir, graceS })]) as ChildProcessWithoutNullStreams;
  const rl = createInterface({ input: p.stdout });
  const lines: string[] = [];
  const waiting: ((l: string | undefined) => void)[] = [];
  let closed = false;
  rl.on('line', (l) => { const w = waiting.shift(); if (w) w(l); else lines.push(l); });
  rl.on('close', () => { closed = true; for (const w of waiting.splice(0)) w(undefined); });
  const next = () => new Promise<string | undefined>((r) => { if (lines.length) r(lines.shift()); else if (closed) r(undefined); else waiting.push(r); });
  const exited = new Promise<void>((r) => p.on('exit', () => r()));
  return { answer: readLockAnswer(next), end: () => p.stdin.end(), exited, beat: () => p.stdin.write('.\n'), kill: () => p.kill('SIGKILL') };
}

test('exclusive: a second run is refused at once naming the holder; released when the channel ends', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fp-lock-'));
  try {
    const a = holder(dir, 'exclusive', 'alice@ci (pid 1) running `flanprov up` since T [exclusive]');
    assert.deepEqual(await a.answer, { kind: 'locked' });
    const t0 = Date.now();
    const b = holder(dir, 'exclusive', 'bob');
    assert.deepEqual(await b.answer, { kind: 'busy', holders: ['alice@ci (pid 1) running `flanprov up` since T [exclusive]'] });
    assert.ok(Date.now() - t0 < 2000, 'refused at once, not after waiting');
    const c = holder(dir, 'shared', 'carol');
    assert.equal((await c.answer).kind, 'busy', 'a shared run waits for no exclusive holder either');
    a.end();
    await a.exited;
    const d = holder(dir, 'exclusive', 'dave');
    assert.deepEqual(await d.answer, { kind: 'locked' });
    d.end();
    await d.exited;
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('shared: several readers at once; an exclusive run is refused naming all of them', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fp-lock-'));
  try {
    const r1 = holder(dir, 'shared', 'reader one');
    const r2 = holder(dir, 'shared', 'reader two');
    assert.deepEqual([await r1.answer, await r2.answer], [{ kind: 'locked' }, { kind: 'locked' }]);
    const w = holder(dir, 'exclusive', 'writer');
    const ans = await w.answer;
    assert.equal(ans.kind, 'busy');
    assert.deepEqual(ans.kind === 'busy' && ans.holders.sort(), ['reader one', 'reader two']);
    r1.end(); r2.end();
    await Promise.all([r1.exited, r2.exited]);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('a holder killed without its trap is not named; a controller that stops its heartbeat loses the lock', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'fp-lock-'));
  try {
    const a = holder(dir, 'exclusive', 'killed one');
    assert.equal((await a.answer).kind, 'locked');
    a.kill();
    await a.exited;
    const b = holder(dir, 'exclusive', 'silent one', 1);
    assert.equal((await b.answer).kind, 'locked', 'the kernel dropped the killed holder\'s lock');
    b.beat();
    const t0 = Date.now();
    await b.exited; // no more heartbeats: gone after its grace
    assert.ok(Date.now() - t0 >= 900, 'kept while within the grace after a heartbeat');
    const c = holder(dir, 'exclusive', 'next');
    assert.equal((await c.answer).kind, 'locked');
    c.end();
    await c.exited;
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('the holder line names user, machine, pid, command, start time and mode', () => {
  assert.match(holderLine('switch-backend', 'exclusive', new Date('2026-12-02T10:00:00Z')), /^\S+@\S+ \(pid \d+\) running `flanprov switch-backend` since 2026-12-02T10:00:00.000Z \[exclusive\]$/);
});

test('a host without flock, or where the lock directory cannot be made, answers why', async () => {
  const box = stubBox({}, BASE_TOOLS.filter((t) => t !== 'flock'));
  try {
    const none = await box.run(lockScript('exclusive', 'x', { dir: join(box.dir, 'lock') }));
    assert.deepEqual(await readLockAnswer(lineReader(none.stdout)), { kind: 'error', why: 'flock is not installed (package util-linux)' });
    writeFileSync(join(box.dir, 'file'), '');
    const blocked = await box.run(lockScript('shared', 'x', { dir: join(box.dir, 'file', 'lock') }));
    assert.deepEqual(await readLockAnswer(lineReader(blocked.stdout)), { kind: 'error', why: `cannot create ${join(box.dir, 'file', 'lock')}` });
  } finally { box.close(); }
});

function lineReader(out: string): () => Promise<string | undefined> {
  const lines = out.split('\n').filter(Boolean);
  return async () => lines.shift();
}
