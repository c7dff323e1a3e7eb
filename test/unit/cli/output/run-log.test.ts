import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunLog, RUN_LOGS_KEPT, pruneRunLogs, runLogName } from '../../../../src/cli/output/run-log.js';

test('a run log holds every event as a JSON line, secrets replaced wherever they appear', () => {
  const dir = mkdtempSync(join(tmpdir(), 'fp-runlog-'));
  try {
    const log = RunLog.open('up', dir)!;
    assert.match(log.path, /\/\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z-up\.jsonl$/);
    log.addSecrets(['s3cr"et\\pw', undefined, '']);
    log.emit({ event: 'run.start', command: 'up', hosts: ['h1'], dryRun: false });
    log.emit({ event: 'log', level: 'warn', message: 'sudo said: bad password s3cr"et\\pw for root' });
    const lines = readFileSync(log.path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines.map((l) => l.event), ['run.start', 'log']);
    assert.equal(lines[1]!.message, 'sudo said: bad password *** for root');
    assert.doesNotMatch(readFileSync(log.path, 'utf8'), /s3cr/);
    assert.equal((statSync(log.path).mode & 0o777).toString(8), '600');
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test(`the newest ${RUN_LOGS_KEPT} logs are kept`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'fp-runlog-'));
  try {
    for (let i = 0; i < 60; i++) writeFileSync(join(dir, runLogName('check', new Date(Date.UTC(2026, 0, 1, 0, 0, i)))), '');
    writeFileSync(join(dir, 'notes.txt'), '');
    const log = RunLog.open('up', dir)!;
    const left = readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort();
    assert.equal(left.length, RUN_LOGS_KEPT);
    assert.equal(left.at(-1), log.path.slice(dir.length + 1));
    assert.ok(readdirSync(dir).includes('notes.txt'), 'other files are left alone');
    pruneRunLogs(dir, 3);
    assert.equal(readdirSync(dir).filter((f) => f.endsWith('.jsonl')).length, 3);
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('no writable cache directory: no log, the run goes on', () => {
  assert.equal(RunLog.open('up', '/dev/null/flanprov'), undefined);
});
