/**
 * Runs kernel tools (ip, bridge, iptables*) as child processes. No native addons: the agent is a Node
 * single-executable application, so iproute2/iptables binaries are the only way to the kernel.
 *
 * A `KernelTarget` lets tests aim every command at a network namespace (`ip netns exec <ns> ...`);
 * production passes none and runs in the agent's own namespace.
 */
import { spawn } from 'node:child_process';

export interface KernelTarget {
  /** network namespace name (tests only); undefined = current namespace */
  netns?: string;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** An error from a kernel tool, carrying the command line and (for batches) the failed input lines. */
export class KernelCommandError extends Error {
  constructor(
    message: string,
    readonly command: string,
    readonly code: number,
    readonly stderr: string,
    /** batch mode: each failed line (1-based), its text and the tool's error message */
    readonly failures: BatchFailure[] = [],
  ) {
    super(message);
    this.name = 'KernelCommandError';
  }
}

export interface BatchFailure {
  line: number;
  text: string;
  error: string;
}

/** The argv that runs `argv` inside the target (prefixes `ip netns exec <ns>` when a netns is set). */
export function targetArgv(target: KernelTarget | undefined, argv: readonly string[]): string[] {
  if (target?.netns) return ['ip', 'netns', 'exec', target.netns, ...argv];
  return [...argv];
}

/** Spawns argv[0] with the rest as arguments, feeds `input` on stdin, collects output. Never throws on exit code. */
export function run(argv: readonly string[], input?: string): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    if (!cmd) return reject(new Error('run: empty command'));
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => reject(new Error(`cannot run ${cmd}: ${e.message}`)));
    child.on('close', (code, signal) =>
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    );
    // EPIPE when the tool exits early is reported through its exit code, not here.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
  });
}

/** Runs and throws a KernelCommandError (with stderr) on a non-zero exit. */
export async function runOk(argv: readonly string[], input?: string): Promise<string> {
  const r = await run(argv, input);
  if (r.code !== 0) {
    const cmd = argv.join(' ');
    throw new KernelCommandError(`${cmd} failed (exit ${r.code}): ${r.stderr.trim() || '(no output)'}`, cmd, r.code, r.stderr);
  }
  return r.stdout;
}
