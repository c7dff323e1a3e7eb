/**
 * `ansible_connection: local`: the host is this machine. The same scripts run, with the same bash and sudo
 * wrapping as over SSH (command.ts), in a local `bash -c` instead of an SSH exec channel; files are written
 * by the same receive script; a tunnel is a local TCP relay. No SSH, no host key, no password login.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createReadStream, statSync } from 'node:fs';
import { connect as netConnect, createServer, type Server } from 'node:net';
import { StepFailedError } from '../util/errors.js';
import type { ConnectionSpec } from '../inventory/types.js';
import {
  envPrelude, needsSudo, scriptCommand, scriptWithInputCommand, wholeScript, type PrivilegeSpec,
} from './command.js';
import { sudoRefusal } from './sudo.js';
import { receiveScript, sha256Of, sha256OfFile, tempNameFor, thenFailure } from './upload.js';
import type { PutFileOptions, PutFileResult, RemoteHost, RemoteSession, RunOptions, RunResult, Tunnel } from './types.js';

export class LocalRemoteHost implements RemoteHost {
  readonly address: string;
  private readonly servers = new Set<Server>();
  private readonly sessions = new Set<ReturnType<typeof spawn>>();
  private closed = false;
  /** processes started (RemoteHost.roundTrips: here a request is a local process, not a network trip) */
  private requests = 0;

  constructor(readonly name: string, readonly spec: ConnectionSpec, private readonly localUser: string) {
    this.address = `local (${localUser})`;
  }

  private priv(sudo: boolean | undefined): PrivilegeSpec {
    return { loginUser: this.localUser, becomeUser: this.spec.becomeUser, sudo: sudo ?? this.spec.become, hasPassword: this.spec.becomePassword !== undefined };
  }

  private exec(command: string, stdin: (string | Buffer | NodeJS.ReadableStream)[], timeoutMs?: number, on: Pick<RunOptions, 'onStdout' | 'onSent'> = {}): Promise<RunResult> {
    const t0 = Date.now();
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new StepFailedError('the local connection is closed', this.name));
      this.requests++;
      const p = spawn('/bin/sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let timer: NodeJS.Timeout | undefined;
      if (timeoutMs) timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
      p.stdout.on('data', (d: Buffer) => { out.push(d); on.onStdout?.(d); });
      p.stderr.on('data', (d: Buffer) => err.push(d));
      p.on('error', (e) => { if (timer) clearTimeout(timer); reject(new StepFailedError(`cannot start a local command: ${e.message}`, this.name)); });
      p.on('close', (code, signal) => {
        if (timer) clearTimeout(timer);
        resolve({ stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), code, ...(signal ? { signal } : {}), ms: Date.now() - t0 });
      });
      // a script that exits before reading all of its input is not an error here
      p.stdin.on('error', () => undefined);
      const writeAll = async (): Promise<void> => {
        for (const part of stdin) {
          if (typeof part === 'string' || Buffer.isBuffer(part)) {
            if (!p.stdin.write(part)) await new Promise((r) => p.stdin.once('drain', r));
          } else {
            for await (const chunk of part as AsyncIterable<Buffer>) if (!p.stdin.write(chunk)) await new Promise((r) => p.stdin.once('drain', r));
          }
        }
        p.stdin.end();
        on.onSent?.();
      };
      writeAll().catch(() => p.stdin.destroy());
    });
  }

  /** sudo tried once at connect (as SshRemoteHost.checkBecome): a refusal is exit 3 before any step. */
  async checkBecome(): Promise<void> {
    if (needsSudo(this.priv(true))) await this.run('true', { sudo: true });
  }

  private checkSudo(r: RunResult): RunResult {
    const refused = sudoRefusal(r, this.name, this.localUser, this.spec.becomeUser);
    if (refused) throw refused;
    return r;
  }

  async run(script: string, opts: RunOptions = {}): Promise<RunResult> {
    const cmd = scriptCommand(this.priv(opts.sudo), this.spec.becomePassword);
    return this.checkSudo(await this.exec(cmd.command, [cmd.stdinPrefix, wholeScript(envPrelude(opts.env) + script)], opts.timeoutMs, opts));
  }

  async runChecked(script: string, opts: RunOptions & { what?: string } = {}): Promise<RunResult> {
    const r = await this.run(script, opts);
    if (r.code !== 0) {
      const tail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-8).join('\n    ');
      throw new StepFailedError(`${opts.what ?? 'local script'} failed (exit ${r.code ?? r.signal ?? '?'})${tail ? `:\n    ${tail}` : ''}`, this.name);
    }
    return r;
  }

  /** The same verified receive script as over SSH (remote/upload.ts), fed from the file (nothing crosses a wire). */
  async putFile(src: string | Buffer, remotePath: string, opts: PutFileOptions = {}): Promise<PutFileResult> {
    const t0 = Date.now();
    const bytes = typeof src === 'string' ? statSync(src).size : src.length;
    const sha256 = opts.sha256 ?? (typeof src === 'string' ? await sha256OfFile(src) : sha256Of(src));
    // nothing travels over a network: a prebuilt encoded copy is still used as given (what was asked), else plain
    const enc = opts.encoded;
    const script = receiveScript({ path: remotePath, mode: opts.mode ?? 0o644, bytes, sha256 }, tempNameFor(remotePath), enc?.encoding ?? 'plain', enc?.keepAt, ...(opts.then ? [opts.then.part] : []));
    const cmd = scriptWithInputCommand(script, this.priv(opts.sudo), this.spec.becomePassword);
    const payload = enc ? createReadStream(enc.file) : typeof src === 'string' ? createReadStream(src) : src;
    const r = this.checkSudo(await this.exec(cmd.command, [cmd.stdinPrefix, payload]));
    const thenFailed = thenFailure(opts.then, r);
    if (r.code !== 0 && thenFailed === undefined) throw new StepFailedError(`writing ${remotePath} failed: ${r.stderr.trim() || `exit ${r.code}`}`, this.name);
    return { bytes, wireBytes: enc ? statSync(enc.file).size : bytes, transfer: enc?.encoding ?? 'plain', ms: Date.now() - t0, ...(thenFailed !== undefined ? { thenFailed } : {}) };
  }

  openSession(script: string, opts: { sudo?: boolean } = {}): Promise<RemoteSession> {
    if (this.closed) return Promise.reject(new StepFailedError('the local connection is closed', this.name));
    const cmd = scriptWithInputCommand(script, this.priv(opts.sudo), this.spec.becomePassword);
    this.requests++;
    const p = spawn('/bin/sh', ['-c', cmd.command], { stdio: ['pipe', 'pipe', 'ignore'] });
    p.stdin.on('error', () => undefined);
    if (cmd.stdinPrefix) p.stdin.write(cmd.stdinPrefix);
    const lines: string[] = [];
    const waiting: ((l: string | undefined) => void)[] = [];
    let ended = false;
    const rl = createInterface({ input: p.stdout });
    rl.on('line', (l) => { const w = waiting.shift(); if (w) w(l); else lines.push(l); });
    const exited = new Promise<number | null>((r) => p.on('close', (code) => {
      ended = true;
      for (const w of waiting.splice(0)) w(undefined);
      r(code);
    }));
    this.sessions.add(p);
    p.on('close', () => this.sessions.delete(p));
    return Promise.resolve({
      nextLine: () => new Promise((r) => { if (lines.length) r(lines.shift()); else if (ended) r(undefined); else waiting.push(r); }),
      write: (d: string) => { if (!ended) p.stdin.write(d); },
      end: () => { if (!ended) p.stdin.end(); },
      exited,
    });
  }

  /** A local relay: the target is reached from this machine, as it would be from the host (it is this machine). */
  tunnel(targetHost: string, targetPort: number): Promise<Tunnel> {
    const server = createServer((sock) => {
      const up = netConnect({ host: targetHost, port: targetPort });
      sock.pipe(up).pipe(sock);
      sock.on('error', () => up.destroy());
      up.on('error', () => sock.destroy());
    });
    this.servers.add(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const port = (server.address() as { port: number }).port;
        resolve({ host: '127.0.0.1', port, close: () => new Promise<void>((r) => { this.servers.delete(server); server.close(() => r()); }) });
      });
    });
  }

  roundTrips(): number {
    return this.requests;
  }

  async close(): Promise<void> {
    this.closed = true;
    // a session's script ends with its input, as an SSH channel's does with the connection
    for (const p of this.sessions) p.stdin?.end();
    for (const s of this.servers) s.close();
    this.servers.clear();
  }
}
