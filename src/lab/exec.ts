/**
 * Running the lab's external tools (ip, systemd-nspawn, debootstrap, ssh-keygen, openssl, ssh, etcd):
 * argument arrays only (no shell strings), captured output, and detached daemons whose PID is recorded.
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { StepFailedError } from '../util/errors.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  /** milliseconds; the child is killed (SIGKILL) after it */
  timeoutMs?: number;
  cwd?: string;
  /** stream the child's output to ours (long steps such as debootstrap), instead of capturing it */
  inherit?: boolean;
}

/** Run a command to completion; never throws for a non-zero exit (see runOk). */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', opts.inherit ? 'inherit' : 'pipe', opts.inherit ? 'inherit' : 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs) timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.on('error', (e) => {
      if (timer) clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8') + (signal ? `\n(killed by ${signal})` : ''),
      });
    });
    if (opts.input !== undefined && child.stdin) {
      child.stdin.on('error', () => undefined); // the child may exit before reading everything
      child.stdin.end(opts.input);
    }
  });
}

/** Run a command; a non-zero exit becomes a StepFailedError naming the command and its stderr. */
export async function runOk(cmd: string, args: readonly string[], opts: RunOptions = {}, where = 'lab'): Promise<string> {
  let r: RunResult;
  try {
    r = await run(cmd, args, opts);
  } catch (e) {
    throw new StepFailedError(`cannot run ${cmd}: ${(e as Error).message}`, where);
  }
  if (r.code !== 0) {
    const detail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-8).join('\n  ');
    throw new StepFailedError(`${cmd} ${args.join(' ')} failed (exit ${r.code})${detail ? `:\n  ${detail}` : ''}`, where);
  }
  return r.stdout;
}

/**
 * Start a long-running daemon in its own session (it outlives this CLI process), output appended to
 * logFile, stdin from /dev/null. Returns its PID, which the caller records in the lab state.
 */
export function spawnDetached(cmd: string, args: readonly string[], logFile: string, env?: NodeJS.ProcessEnv): number {
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env: env ?? process.env });
    if (child.pid === undefined) throw new StepFailedError(`cannot start ${cmd}`, 'lab');
    child.on('error', () => undefined);
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll `check` every intervalMs until it returns true or timeoutMs passes; returns whether it did. */
export async function pollUntil(check: () => Promise<boolean> | boolean, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= end) return false;
    await sleep(intervalMs);
  }
}
