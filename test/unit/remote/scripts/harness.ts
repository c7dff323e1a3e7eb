/**
 * Runs a remote script (src/remote/scripts/*.sh, as remoteScript builds it) with the local bash, exactly as
 * RemoteHost.run sends it (`bash --noprofile --norc -s`, the script in one `{ … }` on stdin), against a
 * PATH of stub commands: each stub logs its argv (one line, `name arg…` with %q quoting) and runs a small
 * bash body that prints canned output (fixtures in test/fixtures/remote/). PATH holds only the stubs and
 * the real tools named in `real` (symlinked), so which commands a host "has" is decided by the test.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { wholeScript } from '../../../../src/remote/command.js';

export const FIXTURES = join(__dirname, '..', '..', '..', 'fixtures', 'remote');

/** Coreutils and friends that most scripts use as they are. */
export const BASE_TOOLS = ['bash', 'cat', 'mkdir', 'mktemp', 'rm', 'stat', 'cut', 'tr', 'awk', 'base64', 'timeout', 'uname', 'head', 'sleep', 'mv', 'chmod', 'find', 'env', 'sort', 'seq', 'touch', 'sed', 'grep', 'readlink', 'wc', 'rmdir', 'ls'];

export interface StubRun {
  code: number;
  stdout: string;
  stderr: string;
  /** every stub call in order: `name arg…` (args %q-quoted) */
  calls: string[];
}

export interface StubBox {
  /** a scratch directory for the test's own files (removed by close) */
  dir: string;
  /** `input`: sent after the script on the same stdin (what a script's `read` gets, as through an open session) */
  run(script: string, o?: { env?: Record<string, string>; timeoutMs?: number; input?: string }): Promise<StubRun>;
  /** the stub calls logged since the last run started (a detached job's calls land after run() resolved) */
  calls(): string[];
  close(): void;
}

function which(cmd: string): string {
  for (const d of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) if (existsSync(join(d, cmd))) return join(d, cmd);
  throw new Error(`stub harness: no ${cmd} on this machine`);
}

/**
 * `stubs`: command name → bash body (runs after the argv is logged; "$FIXTURES" is test/fixtures/remote;
 * `exec_real NAME` runs the machine's command of that name). `real`: tools taken from the machine as they are.
 */
export function stubBox(stubs: Record<string, string>, real: readonly string[] = BASE_TOOLS): StubBox {
  const dir = mkdtempSync(join(tmpdir(), 'sfp-stub-'));
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const log = join(dir, 'calls.log');
  writeFileSync(log, '');
  for (const t of real) if (!(t in stubs)) symlinkSync(which(t), join(bin, t));
  for (const [name, body] of Object.entries(stubs)) {
    const p = join(bin, name);
    writeFileSync(p, `#!${which('bash')}
# one write per line (O_APPEND): stubs run at the same time from background sections must not interleave
fp_a=; [ $# -gt 0 ] && printf -v fp_a ' %q' "$@"; printf '%s%s\\n' ${JSON.stringify(name)} "$fp_a" >> "$FP_STUB_LOG"
exec_real() { local c=$1; shift; for d in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do [ -x "$d/$c" ] && exec "$d/$c" "$@"; done; exit 127; }
${body}
`);
    chmodSync(p, 0o755);
  }
  return {
    dir,
    run(script, o = {}) {
      writeFileSync(log, '');
      return new Promise((res, rej) => {
        const child = spawn(which('bash'), ['--noprofile', '--norc', '-s'], {
          env: { PATH: bin, FP_STUB_LOG: log, FIXTURES, HOME: dir, ...(o.env ?? {}) },
          stdio: ['pipe', 'pipe', 'pipe'],
          timeout: o.timeoutMs ?? 20_000,
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
        child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
        child.on('error', rej);
        child.on('close', (code) => res({ code: code ?? -1, stdout, stderr, calls: readFileSync(log, 'utf8').split('\n').filter(Boolean) }));
        child.stdin.end(wholeScript(script) + (o.input ?? ''));
      });
    },
    calls: () => readFileSync(log, 'utf8').split('\n').filter(Boolean),
    close() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
