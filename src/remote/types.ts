/**
 * The interface phases use to act on a host. One `RemoteHost` = one SSH connection, reused for every step.
 * Implementation: connection.ts (ssh2). Keep phases to a few `run()` calls each: one bash script per phase
 * per host is what makes flanprov fast (a round trip costs ~3 ms on a LAN; a new process on the host more).
 */
import type { EncodedSource, Encoding } from './encodings.js';
import type { ScriptPart } from './remote-script.js';

/** How putFile streams content it has as is: plainly, gzip -1 on the fly, or over SFTP. */
export type StreamMode = 'gzip' | 'plain' | 'sftp';

export interface RunOptions {
  /** run as root (sudo to become_user); default: the host's ansible_become (no-op when already root) */
  sudo?: boolean;
  /** abort the command (close the channel) after this long; default: none */
  timeoutMs?: number;
  /** environment variables exported at the top of the script (values are shell-quoted; not secrets) */
  env?: Record<string, string>;
  /**
   * stdout as it arrives, chunk by chunk (the result still holds all of it): a script that prints what the
   * caller needs first and keeps working (the facts, then the early probe) is one request, not two
   */
  onStdout?: (chunk: Buffer) => void;
  /** called once the whole script is on its way (written to the channel): the host works, the caller may use its CPU */
  onSent?: () => void;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  /** exit status; null when the command was killed by a signal or the channel closed */
  code: number | null;
  signal?: string;
  ms: number;
}

export interface PutFileOptions {
  /** file mode, default 0o644 */
  mode?: number;
  /** how to stream the content (default plain); prebuilt compressed copies go as `encoded` */
  transfer?: StreamMode;
  /** run the write as root (through sudo when the login user is not root); default: the host's become */
  sudo?: boolean;
  /** sha256 of the content when the caller knows it (saves hashing the source again) */
  sha256?: string;
  /** abort the transfer (the host removes what arrived; the old file stays) */
  signal?: AbortSignal;
  /**
   * Send this encoded copy of the content instead (e.g. dist/flanneld.xz; `sha256` must be given): the host
   * decodes the stream and checks the result's length and sha256. Overrides `transfer`.
   */
  encoded?: EncodedSource;
  /**
   * A script part run on the host right after the file is in place, in the same exec (no extra round trip),
   * e.g. a peers seed starting the server of what it just received. Its own failure must exit `failedExit`
   * (the file is installed then): putFile returns it as `thenFailed` instead of throwing.
   */
  then?: { part: ScriptPart; failedExit: number };
}

export interface PutFileResult {
  bytes: number;
  /** bytes that went over the wire (compressed size for gzip) */
  wireBytes: number;
  /** how it travelled: the encoding of the stream, or sftp */
  transfer: Encoding | 'sftp';
  ms: number;
  /** PutFileOptions.then exited `failedExit`: its stderr (the file itself is in place) */
  thenFailed?: string;
}

/** A running remote script with an open stdin (RemoteHost.openSession). */
export interface RemoteSession {
  /** the next line of stdout; undefined once the script has ended and every line was read */
  nextLine(): Promise<string | undefined>;
  write(data: string): void;
  /** ends stdin (the script sees EOF) */
  end(): void;
  /** resolves when the script has exited (or the channel closed), with its exit code (null: killed/closed) */
  readonly exited: Promise<number | null>;
}

/** A local TCP port that leads, through the SSH connection, to targetHost:targetPort as seen from the host. */
export interface Tunnel {
  host: '127.0.0.1';
  port: number;
  close(): Promise<void>;
}

export interface RemoteHost {
  /** inventory host name */
  readonly name: string;
  /** "user@host:port" (for messages) */
  readonly address: string;
  /**
   * Run a shell script: `bash --noprofile --norc -s` (no rc files: a slow root ~/.bashrc costs ~80 ms a call)
   * with the script on stdin, through sudo when `sudo` (default: the host's become setting). Never throws for a
   * non-zero exit; throws only when the connection is gone.
   */
  run(script: string, opts?: RunOptions): Promise<RunResult>;
  /** run() and throw StepFailedError (exit code 4) with stderr when the exit status is not 0 */
  runChecked(script: string, opts?: RunOptions & { what?: string }): Promise<RunResult>;
  /**
   * Write a file so it is either the whole new file or the old one (remote/upload.ts): to
   * `<dir>/.<name>.flanprov-<random>`, its length and sha256 checked on the host, its mode set, then renamed
   * over the target (a running executable can be replaced). Creates the directory. Throws StepFailedError
   * when the file did not arrive whole (the old file is untouched, the temporary one removed).
   */
  putFile(src: string | Buffer, remotePath: string, opts?: PutFileOptions): Promise<PutFileResult>;
  /**
   * Start a long-lived script (`bash -c`, through sudo when `sudo`) whose stdin stays open: the caller
   * reads its output line by line and writes to it (e.g. the host lock's heartbeat). It ends when the
   * script exits, when the caller ends it, or when the connection goes.
   */
  openSession(script: string, opts?: { sudo?: boolean }): Promise<RemoteSession>;
  /** open a local TCP listener on 127.0.0.1:0 forwarding to targetHost:targetPort via this host */
  tunnel(targetHost: string, targetPort: number): Promise<Tunnel>;
  /**
   * How many requests this connection has made so far, each at least one round trip: an exec (run, putFile,
   * openSession), an SFTP session and each SFTP transfer on it, a tunnel's channel open. The SSH handshake
   * itself is not counted. The runner reports the per-phase difference (-v, `phase.end` in JSON).
   */
  roundTrips(): number;
  /** close the connection (and its jump hosts, tunnels) */
  close(): Promise<void>;
}

/** Options that are not per host (from the command line). */
export interface ConnectOptions {
  /** --accept-new-host-keys: as StrictHostKeyChecking=accept-new for every host */
  acceptNewHostKeys?: boolean;
  /** override the connect timeout of every host */
  connectTimeoutMs?: number;
  /** called with debug lines (-v); never receives secrets */
  debug?: (msg: string) => void;
}
