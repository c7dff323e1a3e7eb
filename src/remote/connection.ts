/**
 * SSH to one host (ssh2): one connection reused for everything, TCP_NODELAY on (42 ms → 3 ms per exec),
 * host keys checked against known_hosts like OpenSSH, keys + ssh-agent, ProxyJump chains through
 * `forwardOut`, sudo with or without a password (command.ts), atomic file upload and TCP tunnels.
 */
import { readFileSync, statSync, createReadStream, existsSync } from 'node:fs';
import { connect as netConnect, createServer, type Socket, type Server } from 'node:net';
import { gzip } from 'node:zlib';
import { promisify } from 'node:util';
import type { Duplex } from 'node:stream';
import { Client, utils as sshUtils, type ClientChannel, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import { StepFailedError } from '../util/errors.js';
import type { ConnectionSpec, JumpHost, StrictHostKeyChecking } from '../inventory/types.js';
import { ConnectError } from './errors.js';
import { LocalRemoteHost } from './local-host.js';
import { userInfo } from 'node:os';
import { installScript, receiveScript, sha256Of, sha256OfFile, tempNameFor, thenFailure, uploadDirScript, type UploadTarget } from './upload.js';
import type { Encoding } from './encodings.js';
import {
  appendKnownHost, checkHostKey, fingerprint, hostField, keyTypeOf, preferredHostKeyAlgorithms, readKnownHostsFiles,
} from './known-hosts.js';
import {
  envPrelude, needsSudo, scriptCommand, scriptWithInputCommand, wholeScript, type PrivilegeSpec,
} from './command.js';
import { sudoRefusal } from './sudo.js';
import { signPublickeyAtOnce } from './ssh-auth.js';
import type {
  ConnectOptions, PutFileOptions, PutFileResult, RemoteHost, RemoteSession, RunOptions, RunResult, StreamMode, Tunnel,
} from './types.js';

const gzipAsync = promisify(gzip);

/** How a hop's host key is checked (OpenSSH: UserKnownHostsFile, GlobalKnownHostsFile, HostKeyAlias, HashKnownHosts). */
interface HostKeyPolicy {
  /** read, and where accept-new records a new key */
  knownHostsFile: string;
  /** read only */
  knownHostsAlso: string[];
  hostKeyAlias?: string;
  hashKnownHosts: boolean;
  strict: StrictHostKeyChecking;
}

/**
 * One hop to connect: the target itself or a jump host. A jump host has its own keys, host-key settings and
 * timeout (from its ssh_config entry, as with ssh -J) and is never sent the password.
 */
interface Hop {
  host: string; port: number; user: string; label: string; target: boolean;
  identityFiles: string[]; identitiesOnly: boolean; hostKeys: HostKeyPolicy; connectTimeoutMs: number;
}

function targetHop(name: string, spec: ConnectionSpec): Hop {
  return {
    host: spec.host, port: spec.port, user: spec.user, label: name, target: true,
    identityFiles: spec.identityFiles, identitiesOnly: spec.identitiesOnly, connectTimeoutMs: spec.connectTimeoutMs,
    hostKeys: {
      knownHostsFile: spec.knownHostsFile, knownHostsAlso: spec.knownHostsAlso ?? [],
      ...(spec.hostKeyAlias !== undefined ? { hostKeyAlias: spec.hostKeyAlias } : {}),
      hashKnownHosts: spec.hashKnownHosts ?? false, strict: spec.strictHostKeyChecking,
    },
  };
}

/** A jump host's hop: its own settings where the inventory loader resolved them, else the target's. */
function jumpHop(name: string, j: JumpHost, spec: ConnectionSpec): Hop {
  const t = targetHop(name, spec);
  const alias = j.hostKeyAlias; // the target's alias names the target, never a jump host
  return {
    host: j.host, port: j.port, user: j.user, target: false, label: `${name} (jump host ${j.user}@${hostField(j.host, j.port)})`,
    identityFiles: j.identityFiles ?? t.identityFiles, identitiesOnly: j.identitiesOnly ?? t.identitiesOnly,
    connectTimeoutMs: j.connectTimeoutMs ?? t.connectTimeoutMs,
    hostKeys: {
      knownHostsFile: j.knownHostsFile ?? t.hostKeys.knownHostsFile,
      knownHostsAlso: j.knownHostsAlso ?? t.hostKeys.knownHostsAlso,
      ...(alias !== undefined ? { hostKeyAlias: alias } : {}),
      hashKnownHosts: j.hashKnownHosts ?? t.hostKeys.hashKnownHosts,
      strict: j.strictHostKeyChecking ?? t.hostKeys.strict,
    },
  };
}

/**
 * Connect to a host (through its ProxyJump chain); `ansible_connection: local` hosts get a LocalRemoteHost.
 * Throws ConnectError (exit code 3).
 */
export async function connectHost(name: string, spec: ConnectionSpec, opts: ConnectOptions = {}): Promise<RemoteHost> {
  if (spec.transport === 'local') {
    const local = new LocalRemoteHost(name, spec, localUserName());
    if (spec.become) await local.checkBecome();
    return local;
  }
  return connectSsh(name, spec, opts);
}

function localUserName(): string {
  try { return userInfo().username; } catch { return 'root'; }
}

/** Connect over SSH (through the ProxyJump chain). */
export async function connectSsh(name: string, spec: ConnectionSpec, opts: ConnectOptions = {}): Promise<SshRemoteHost> {
  const debug = opts.debug ?? (() => undefined);
  const hops: Hop[] = [...spec.proxyJump.map((j) => jumpHop(name, j, spec)), targetHop(name, spec)];
  const clients: Client[] = [];
  try {
    let sock: Duplex | undefined;
    for (const hop of hops) {
      const prev = clients[clients.length - 1];
      if (prev) sock = await forward(prev, hop.host, hop.port, hop.label);
      const t0 = Date.now();
      const c = await connectHop(hop, spec, opts, sock);
      debug(`${hop.label}: connected to ${hop.user}@${hostField(hop.host, hop.port)} in ${Date.now() - t0} ms`);
      clients.push(c);
    }
  } catch (e) {
    for (const c of clients.reverse()) c.end();
    throw e;
  }
  const remote = new SshRemoteHost(name, spec, clients, debug);
  if (spec.become) {
    try {
      await remote.checkBecome();
    } catch (e) {
      await remote.close();
      throw e;
    }
  }
  return remote;
}

function forward(via: Client, host: string, port: number, label: string): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    via.forwardOut('127.0.0.1', 0, host, port, (err, stream) => {
      if (err) reject(new ConnectError('unreachable', `cannot reach ${hostField(host, port)} through the jump host: ${err.message}`, label));
      else resolve(stream);
    });
  });
}

function tcpConnect(hop: Hop, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host: hop.host, port: hop.port });
    s.setNoDelay(true);
    const timer = setTimeout(() => {
      s.destroy();
      reject(new ConnectError('timeout', `host unreachable: no TCP connection to ${hostField(hop.host, hop.port)} within ${timeoutMs / 1000} s`, hop.label));
    }, timeoutMs);
    s.once('connect', () => { clearTimeout(timer); resolve(s); });
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why = e.code === 'ECONNREFUSED' ? 'connection refused (is sshd running on that port?)'
        : e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN' ? 'unknown host name'
          : e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH' ? 'no route to host' : e.message;
      reject(new ConnectError('unreachable', `host unreachable: ${hostField(hop.host, hop.port)}: ${why}`, hop.label));
    });
  });
}

/**
 * The auth methods to try, in OpenSSH's order: ssh-agent (not with IdentitiesOnly, which offers only the named
 * keys), the key files, then the login password (target only) by password and keyboard-interactive
 * authentication. The password is only handed to ssh2; it is never logged or put in a message.
 */
function authMethods(hop: Hop, spec: ConnectionSpec, debug: (m: string) => void): { methods: unknown[]; tried: string[] } {
  const methods: unknown[] = [];
  const tried: string[] = [];
  if (spec.useAgent && process.env.SSH_AUTH_SOCK && !hop.identitiesOnly) {
    methods.push({ type: 'agent', username: hop.user, agent: process.env.SSH_AUTH_SOCK });
    tried.push('ssh-agent');
  }
  const explicit = hop.target && spec.identityExplicit;
  for (const f of hop.identityFiles) {
    if (!existsSync(f)) {
      if (explicit) throw new ConnectError('auth', `private key not found: ${f}`, hop.label, 'check ansible_ssh_private_key_file');
      continue;
    }
    const data = readFileSync(f);
    const parsed = sshUtils.parseKey(data);
    if (parsed instanceof Error) {
      const enc = /encrypted|passphrase/i.test(parsed.message);
      debug(`${hop.label}: skipping key ${f}: ${enc ? 'encrypted (load it into ssh-agent)' : parsed.message}`);
      if (explicit && !spec.useAgent) {
        throw new ConnectError('auth', `cannot use private key ${f}: ${enc ? 'it is encrypted; add it to ssh-agent (ssh-add) instead' : parsed.message}`, hop.label);
      }
      continue;
    }
    methods.push({ type: 'publickey', username: hop.user, key: data });
    tried.push(`key ${f}`);
  }
  const password = hop.target ? spec.password : undefined;
  if (password !== undefined) {
    methods.push({ type: 'password', username: hop.user, password });
    methods.push({
      type: 'keyboard-interactive', username: hop.user,
      prompt: (_n: string, _i: string, _l: string, prompts: unknown[], finish: (answers: string[]) => void) => finish(prompts.map(() => password)),
    });
    tried.push('password (ansible_password)', 'keyboard-interactive');
  }
  if (!methods.length) {
    throw new ConnectError('auth', `no way to authenticate as ${hop.user}: no usable private key and no ssh-agent (SSH_AUTH_SOCK)`, hop.label,
      "set ansible_ssh_private_key_file, start ssh-agent and ssh-add your key, or set ansible_password: \"{{ lookup('env', 'SSH_PASSWORD') }}\"");
  }
  return { methods, tried };
}

function connectHop(hop: Hop, spec: ConnectionSpec, opts: ConnectOptions, sock?: Duplex): Promise<Client> {
  const debug = opts.debug ?? (() => undefined);
  const timeoutMs = opts.connectTimeoutMs ?? hop.connectTimeoutMs;
  const hk = hop.hostKeys;
  const acceptNew = opts.acceptNewHostKeys || hk.strict === 'accept-new' || hk.strict === 'no';
  // the name known_hosts knows the host by: HostKeyAlias as written (no port), else host and port
  const keyHost = hk.hostKeyAlias ?? hop.host;
  const keyPort = hk.hostKeyAlias !== undefined ? 22 : hop.port;
  const files = [hk.knownHostsFile, ...hk.knownHostsAlso];
  const fileList = files.filter((f) => f !== '/dev/null').join(', ') || 'no known_hosts file';
  const jumpNote = hop.target ? '' : " (a jump host's known_hosts files, like its keys, come from its own ssh_config entry, as with ssh -J; command-line -o options apply to the target only)";
  return new Promise<Client>((resolve, reject) => {
    let hostKeyError: ConnectError | undefined;
    let settled = false;
    const fail = (e: Error): void => { if (!settled) { settled = true; reject(e); } };
    const start = async (): Promise<void> => {
      const { methods, tried } = authMethods(hop, spec, debug);
      const s = sock ?? await tcpConnect(hop, timeoutMs);
      const entries = readKnownHostsFiles(files);
      const client = new Client();
      const cfg: ConnectConfig = {
        sock: s as unknown as ConnectConfig['sock'],
        username: hop.user,
        readyTimeout: timeoutMs,
        keepaliveInterval: 15_000,
        algorithms: { serverHostKey: preferredHostKeyAlgorithms(entries, keyHost, keyPort) as never },
        authHandler: methods as never,
        hostVerifier: (key: Buffer): boolean => {
          const v = checkHostKey(entries, keyHost, keyPort, key);
          const fp = fingerprint(key);
          const name = hostField(keyHost, keyPort);
          const where = `${hostField(hop.host, hop.port)}${hk.hostKeyAlias !== undefined ? ` (HostKeyAlias ${hk.hostKeyAlias})` : ''} (${keyTypeOf(key)} ${fp})`;
          switch (v.kind) {
            case 'known': return true;
            case 'revoked':
              hostKeyError = new ConnectError('host-key', `REFUSED: the host key of ${where} is marked @revoked in ${v.file ?? hk.knownHostsFile}:${v.line}`, hop.label);
              return false;
            case 'changed': {
              const file = v.file ?? hk.knownHostsFile;
              hostKeyError = new ConnectError('host-key',
                `@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\n  The ${v.keyType} host key of ${name} is now ${fp}, but ${file}:${v.line} has ${v.expected}.\n  Someone could be eavesdropping on you (man-in-the-middle), or the host was reinstalled. flanprov refuses to connect.`,
                hop.label, `if the change is expected: ssh-keygen -f ${file} -R '${name}', then connect again`);
              return false;
            }
            case 'unknown':
              if (acceptNew && hk.knownHostsFile !== '/dev/null') {
                appendKnownHost(hk.knownHostsFile, keyHost, keyPort, key, hk.hashKnownHosts);
                debug(`${hop.label}: added host key ${where} to ${hk.knownHostsFile}${hk.hashKnownHosts ? ' (hashed)' : ''}`);
                return true;
              }
              if (acceptNew) return true; // UserKnownHostsFile /dev/null or none: nothing to record, as ssh
              hostKeyError = new ConnectError('host-key',
                `unknown host key for ${where}${v.knownTypes.length ? ` (known_hosts has only ${v.knownTypes.join(', ')} keys for it)` : ''}: not in ${fileList}${jumpNote}`,
                hop.label, `check the fingerprint ${fp} with the host's administrator, then rerun with --accept-new-host-keys (or -o StrictHostKeyChecking=accept-new in ansible_ssh_common_args)`);
              return false;
          }
        },
      };
      client.once('ready', () => {
        client.setNoDelay(true);
        settled = true;
        resolve(client);
      });
      client.on('error', (e: Error & { level?: string }) => {
        if (hostKeyError) return fail(hostKeyError);
        if (e.level === 'client-authentication') {
          return fail(new ConnectError('auth', `authentication failed for ${hop.user}@${hostField(hop.host, hop.port)} (tried ${tried.join(', ')})`, hop.label,
            spec.password !== undefined && hop.target ? 'check ansible_user and the password (ansible_password); the server must allow password or keyboard-interactive logins'
              : 'check ansible_user and that the public key is in ~/.ssh/authorized_keys on the host'));
        }
        if (e.level === 'client-timeout') return fail(new ConnectError('timeout', `SSH handshake with ${hostField(hop.host, hop.port)} timed out after ${timeoutMs / 1000} s`, hop.label));
        fail(new ConnectError('unreachable', `SSH connection to ${hostField(hop.host, hop.port)} failed: ${e.message}`, hop.label));
      });
      client.on('close', () => fail(hostKeyError ?? new ConnectError('unreachable', `SSH connection to ${hostField(hop.host, hop.port)} closed during the handshake`, hop.label)));
      client.connect(cfg);
      // a key file's signed request goes out at once, without ssh2's query first: one round trip less
      signPublickeyAtOnce(client);
    };
    start().catch(fail);
  });
}

/** Compressed uploads of the same file go to many hosts: compress once. */
const gzipCache = new Map<string, Promise<Buffer>>();

export class SshRemoteHost implements RemoteHost {
  readonly address: string;
  private readonly servers = new Set<Server>();
  private closed = false;
  /** requests sent on the target connection (RemoteHost.roundTrips) */
  private requests = 0;

  constructor(
    readonly name: string,
    readonly spec: ConnectionSpec,
    /** jump hosts first, the target last */
    private readonly clients: Client[],
    private readonly debug: (m: string) => void,
  ) {
    this.address = `${spec.user}@${hostField(spec.host, spec.port)}`;
  }

  private get client(): Client {
    return this.clients[this.clients.length - 1]!;
  }

  roundTrips(): number {
    return this.requests;
  }

  private priv(sudo: boolean | undefined): PrivilegeSpec {
    return {
      loginUser: this.spec.user,
      becomeUser: this.spec.becomeUser,
      sudo: sudo ?? this.spec.become,
      hasPassword: this.spec.becomePassword !== undefined,
    };
  }

  /** Low level: exec `command`, write stdin (string/Buffer/stream), collect output. */
  private exec(command: string, stdin: (string | Buffer | NodeJS.ReadableStream)[], timeoutMs?: number, signal?: AbortSignal, on: Pick<RunOptions, 'onStdout' | 'onSent'> = {}): Promise<RunResult> {
    const t0 = Date.now();
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new StepFailedError('the SSH connection is closed', this.name));
      if (signal?.aborted) return reject(new StepFailedError('interrupted before it started', this.name));
      this.requests++;
      this.client.exec(command, (err: Error | undefined, ch: ClientChannel) => {
        if (err) return reject(new StepFailedError(`cannot start a command: ${err.message}`, this.name));
        const out: Buffer[] = [];
        const errb: Buffer[] = [];
        let timer: NodeJS.Timeout | undefined;
        if (timeoutMs) timer = setTimeout(() => { ch.signal('KILL'); ch.close(); }, timeoutMs);
        // an abort closes the channel: the remote side sees its input end (an upload removes what arrived)
        const onAbort = () => ch.close();
        signal?.addEventListener('abort', onAbort, { once: true });
        ch.on('close', () => signal?.removeEventListener('abort', onAbort));
        ch.on('data', (d: Buffer) => { out.push(d); on.onStdout?.(d); });
        ch.stderr.on('data', (d: Buffer) => errb.push(d));
        ch.on('close', (code: number | null, signal?: string) => {
          if (timer) clearTimeout(timer);
          resolve({
            stdout: Buffer.concat(out).toString('utf8'),
            stderr: Buffer.concat(errb).toString('utf8'),
            code: typeof code === 'number' ? code : null,
            ...(signal ? { signal } : {}),
            ms: Date.now() - t0,
          });
        });
        const writeAll = async (): Promise<void> => {
          for (const part of stdin) {
            if (typeof part === 'string' || Buffer.isBuffer(part)) {
              if (!ch.write(part)) await new Promise((r) => ch.once('drain', r));
            } else {
              for await (const chunk of part as AsyncIterable<Buffer>) {
                if (!ch.write(chunk)) await new Promise((r) => ch.once('drain', r));
              }
            }
          }
          ch.end();
          on.onSent?.();
        };
        writeAll().catch((e: Error) => { ch.close(); reject(new StepFailedError(`sending input failed: ${e.message}`, this.name)); });
      });
    });
  }

  async run(script: string, opts: RunOptions = {}): Promise<RunResult> {
    const cmd = scriptCommand(this.priv(opts.sudo), this.spec.becomePassword);
    const r = await this.exec(cmd.command, [cmd.stdinPrefix, wholeScript(envPrelude(opts.env) + script)], opts.timeoutMs, undefined, opts);
    return this.checkSudo(r);
  }

  private checkSudo(r: RunResult): RunResult {
    const refused = sudoRefusal(r, this.name, this.spec.user, this.spec.becomeUser);
    if (refused) throw refused;
    return r;
  }

  /**
   * With ansible_become as a user other than root, sudo is tried once at connect, so a wrong become password
   * (or a sudo that refuses the user) is an authentication failure of the connect phase, before any step.
   */
  async checkBecome(): Promise<void> {
    if (!needsSudo(this.priv(true))) return;
    await this.run('true', { sudo: true });
  }

  async runChecked(script: string, opts: RunOptions & { what?: string } = {}): Promise<RunResult> {
    const r = await this.run(script, opts);
    if (r.code !== 0) {
      const tail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-8).join('\n    ');
      throw new StepFailedError(`${opts.what ?? 'remote script'} failed (exit ${r.code ?? r.signal ?? '?'})${tail ? `:\n    ${tail}` : ''}`, this.name);
    }
    return r;
  }

  async putFile(src: string | Buffer, remotePath: string, opts: PutFileOptions = {}): Promise<PutFileResult> {
    const t0 = Date.now();
    const bytes = typeof src === 'string' ? statSync(src).size : src.length;
    const sha256 = opts.sha256 ?? (typeof src === 'string' ? await sha256OfFile(src) : sha256Of(src));
    const target: UploadTarget = { path: remotePath, mode: opts.mode ?? 0o644, bytes, sha256 };
    const transfer: StreamMode = opts.transfer ?? 'plain';
    const tmp = tempNameFor(remotePath);
    const what = `upload of ${remotePath}`;
    const then = opts.then ? [opts.then.part] : [];
    /** the `then` part's failure (the file is in place), else throws unless all went well */
    const check = (r: RunResult): { thenFailed?: string } => {
      if (r.code === 0) return {};
      const thenFailed = thenFailure(opts.then, r);
      if (thenFailed !== undefined) return { thenFailed };
      const why = r.stderr.trim() || (r.code === null ? 'the connection closed' : `exit ${r.code}`);
      throw new StepFailedError(`${what} failed: ${why}`, this.name);
    };
    if (transfer === 'sftp' && !opts.encoded && !(this.priv(opts.sudo).sudo && this.spec.user !== 'root')) {
      await this.runChecked(uploadDirScript(remotePath), { sudo: opts.sudo, what });
      await this.sftpPut(src, tmp, target.mode);
      const after = check(await this.run(installScript(target, tmp, ...then), { sudo: opts.sudo }));
      return { bytes, wireBytes: bytes, transfer, ms: Date.now() - t0, ...after };
    }
    // A prebuilt encoded copy, gzip -1 made here, or plain: streamed over exec into the decoder (works
    // without the sftp subsystem and under sudo).
    let payload: Buffer | NodeJS.ReadableStream;
    let wireBytes = bytes;
    let encoding: Encoding = transfer === 'gzip' ? 'gzip' : 'plain';
    if (opts.encoded) {
      encoding = opts.encoded.encoding;
      payload = createReadStream(opts.encoded.file);
      wireBytes = statSync(opts.encoded.file).size;
    } else if (encoding === 'gzip') {
      payload = await this.compressed(src);
      wireBytes = payload.length;
    } else {
      payload = typeof src === 'string' ? createReadStream(src) : src;
    }
    const script = receiveScript(target, tmp, encoding, opts.encoded?.keepAt, ...then);
    const cmd = scriptWithInputCommand(script, this.priv(opts.sudo), this.spec.becomePassword);
    const r = this.checkSudo(await this.exec(cmd.command, [cmd.stdinPrefix, payload], undefined, opts.signal));
    if (opts.signal?.aborted) throw new StepFailedError(`${what} interrupted; the old file is untouched`, this.name);
    const after = check(r);
    return { bytes, wireBytes, transfer: encoding, ms: Date.now() - t0, ...after };
  }

  private compressed(src: string | Buffer): Promise<Buffer> {
    if (Buffer.isBuffer(src)) return gzipAsync(src, { level: 1 });
    const st = statSync(src);
    const key = `${src}\0${st.size}\0${st.mtimeMs}`;
    let p = gzipCache.get(key);
    if (!p) {
      p = gzipAsync(readFileSync(src), { level: 1 });
      gzipCache.set(key, p);
      p.catch(() => gzipCache.delete(key));
    }
    return p;
  }

  private sftpPut(src: string | Buffer, remote: string, mode: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.requests++;
      this.client.sftp((err: Error | undefined, sftp: SFTPWrapper) => {
        if (err) return reject(new StepFailedError(`SFTP is not available (${err.message}); set flannel_transfer_compression: gzip`, this.name));
        this.requests++;
        const done = (e?: Error | null): void => { sftp.end(); if (e) reject(new StepFailedError(`SFTP upload to ${remote} failed: ${e.message}`, this.name)); else resolve(); };
        if (typeof src === 'string') sftp.fastPut(src, remote, { mode }, done);
        else sftp.writeFile(remote, src, { mode }, done);
      });
    });
  }

  openSession(script: string, opts: { sudo?: boolean } = {}): Promise<RemoteSession> {
    const cmd = scriptWithInputCommand(script, this.priv(opts.sudo), this.spec.becomePassword);
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new StepFailedError('the SSH connection is closed', this.name));
      this.requests++;
      this.client.exec(cmd.command, (err: Error | undefined, ch: ClientChannel) => {
        if (err) return reject(new StepFailedError(`cannot start a command: ${err.message}`, this.name));
        if (cmd.stdinPrefix) ch.write(cmd.stdinPrefix);
        resolve(channelSession(ch));
      });
    });
  }

  tunnel(targetHost: string, targetPort: number): Promise<Tunnel> {
    // closing a tunnel ends its connections too: a client that keeps its socket open (gRPC to a frozen etcd)
    // would otherwise keep server.close() waiting forever
    const socks = new Set<Socket>();
    const server = createServer((sock) => {
      socks.add(sock);
      sock.on('close', () => socks.delete(sock));
      sock.setNoDelay(true);
      this.requests++;
      this.client.forwardOut('127.0.0.1', sock.remotePort ?? 0, targetHost, targetPort, (err, stream) => {
        if (err) {
          this.debug(`${this.name}: tunnel to ${targetHost}:${targetPort} failed: ${err.message}`);
          sock.destroy();
          return;
        }
        sock.pipe(stream).pipe(sock);
        sock.on('error', () => stream.close());
        stream.on('error', () => sock.destroy());
      });
    });
    this.servers.add(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const port = (server.address() as { port: number }).port;
        resolve({
          host: '127.0.0.1',
          port,
          close: () => new Promise<void>((r) => {
            this.servers.delete(server);
            server.close(() => r());
            for (const s of socks) s.destroy();
          }),
        });
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.servers) s.close();
    this.servers.clear();
    for (const c of [...this.clients].reverse()) c.end();
  }
}

/** Line-oriented access to a channel's stdout, with its stdin left open (openSession). */
function channelSession(ch: ClientChannel): RemoteSession {
  let buf = '';
  let ended = false;
  const waiting: ((l: string | undefined) => void)[] = [];
  const lines: string[] = [];
  const pump = () => {
    while (waiting.length && (lines.length || ended)) waiting.shift()!(lines.shift());
  };
  ch.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let i;
    while ((i = buf.indexOf('\n')) >= 0) { lines.push(buf.slice(0, i)); buf = buf.slice(i + 1); }
    pump();
  });
  ch.stderr.on('data', () => undefined);
  const exited = new Promise<number | null>((r) => ch.on('close', (code: number | null) => {
    if (buf) lines.push(buf);
    buf = '';
    ended = true;
    pump();
    r(typeof code === 'number' ? code : null);
  }));
  return {
    nextLine: () => new Promise((r) => { waiting.push(r); pump(); }),
    write: (data) => { if (!ended) ch.write(data); },
    end: () => { if (!ended) ch.end(); },
    exited,
  };
}
