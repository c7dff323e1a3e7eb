/**
 * shellcheck on every remote script, checked the way it is sent: lib.sh, the parameter assignments (any
 * values: each declared parameter assigned, lists as arrays), the script. A finding fails the test with
 * the file and line it is in; a justified exception is a `# shellcheck disable=SCnnnn` line in the script,
 * with a comment that says why.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { declaredParams, libFor, remoteScriptUnchecked, type ScriptValue } from '../../../../src/remote/remote-script.js';

const DIR = join(__dirname, '..', '..', '..', '..', 'src', 'remote', 'scripts');
const scripts = readdirSync(DIR).filter((f) => f.endsWith('.sh') && f !== 'lib.sh').map((f) => f.slice(0, -3)).sort();

interface Finding { line: number; column: number; level: string; code: number; message: string }

/** Where line `n` (1-based) of the sent text comes from: lib.sh (what the script needs of it), the assignments or the script. */
function origin(name: string, n: number): string {
  const lib = libFor(readFileSync(join(DIR, `${name}.sh`), 'utf8'));
  if (lib && n <= lib.split('\n').length) return `lib.sh, as sent: ${lib.split('\n')[n - 1]!.trim()}`;
  n -= lib ? lib.split('\n').length : 0;
  const vars = declaredParams(readFileSync(join(DIR, `${name}.sh`), 'utf8')).length;
  if (n <= vars) return `${name}.sh (parameter assignments)`;
  return `${name}.sh:${n - vars}`;
}

test('shellcheck is installed (scripts/install-deps.sh)', () => {
  assert.match(execFileSync('shellcheck', ['--version'], { encoding: 'utf8' }), /version: \d/);
});

test('every remote script exists and declares its parameters', () => {
  assert.ok(scripts.includes('facts'), scripts.join(' '));
});

function findings(text: string): Finding[] {
  const r = spawnSync('shellcheck', ['-s', 'bash', '-f', 'json1', '-'], { input: text, encoding: 'utf8' });
  assert.ok(r.status === 0 || r.status === 1, `shellcheck failed to run: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { comments: Finding[] }).comments;
}

// scripts send only the lib.sh functions they use (remote-script.ts libFor): lib.sh is checked whole too
test('shellcheck lib.sh (whole)', () => {
  assert.deepEqual(findings(readFileSync(join(DIR, 'lib.sh'), 'utf8')).map((c) => `lib.sh:${c.line}:${c.column} SC${c.code} (${c.level}): ${c.message}`), []);
});

for (const name of scripts) {
  test(`shellcheck ${name}.sh (with lib.sh, as sent)`, () => {
    const params: Record<string, ScriptValue> = {};
    for (const p of declaredParams(readFileSync(join(DIR, `${name}.sh`), 'utf8'))) params[p.name] = p.list ? ['a', 'b'] : '1';
    // the sent text has no shebang: the shell is named with -s
    assert.deepEqual(findings(remoteScriptUnchecked(name, params)).map((c) => `${origin(name, c.line)}:${c.column} SC${c.code} (${c.level}): ${c.message}`), []);
  });
}
