/**
 * How a file reaches a host without ever leaving a half-written one in place: it is written to a temporary
 * name in the target directory, its length and sha256 are checked on the host against what the controller
 * sent, and only then is it renamed over the target (atomic; a running executable keeps its old inode).
 * Anything else — a closed channel, a killed CLI, a full disk, a corrupted stream — removes the temporary
 * file and leaves the old one untouched. Every upload goes through here: the agent (plain, gzip, sftp)
 * and the small files `up` installs (units, env files, TLS material).
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { shq } from './command.js';
import type { Encoding } from './encodings.js';
import type { PutFileOptions, RunResult } from './types.js';
import { remoteScript, remoteScripts, scriptPart, type ScriptPart } from './remote-script.js';

/** Exit status of a remote upload script whose file did not arrive whole (nothing was replaced). */
export const UPLOAD_INCOMPLETE_EXIT = 75;

/** lib.sh fp_write_files' arrays, one entry per file. */
export interface InlineFileParams {
  PATHS: string[]; MODES: string[]; OWNERS: string[]; TMPS: string[]; BYTES: number[]; SHA256S: string[]; CONTENTS: string[];
}

/** lib.sh fp_verify_install's arguments, as script parameters. */
export interface TargetParams { TARGET: string; TMP: string; BYTES: number; SHA256: string; MODE: string; OWNER: string }

declare module './remote-script.js' {
  interface RemoteScripts {
    receive: TargetParams & { ENCODING: Encoding; KEEP_AT: string };
    install: TargetParams;
    'upload-dir': { TARGET: string };
    'write-files': InlineFileParams;
  }
}

/** What the host must end up with. */
export interface UploadTarget {
  path: string;
  /** permission bits, e.g. 0o755 */
  mode: number;
  /** the exact length of the (decoded) content */
  bytes: number;
  /** sha256 hex of the (decoded) content */
  sha256: string;
  /** user (and group of the same name) to own it; default: whoever writes it (root) */
  owner?: string;
}

export function sha256Of(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

export function sha256OfFile(path: string): Promise<string> {
  return new Promise((res, rej) => {
    const h = createHash('sha256');
    createReadStream(path).on('data', (b) => h.update(b)).on('error', rej).on('end', () => res(h.digest('hex')));
  });
}

/** A temporary name next to `remotePath`: `<dir>/.<name>.flanprov-<random>` (same file system: the rename is atomic). */
export function tempNameFor(remotePath: string, random = randomBytes(6).toString('hex')): string {
  const i = remotePath.lastIndexOf('/');
  return `${remotePath.slice(0, i + 1)}.${remotePath.slice(i + 1)}.flanprov-${random}`;
}

/** The parameters every script that installs a file passes to lib.sh fp_receive / fp_verify_install. */
export function targetParams(t: UploadTarget, tmpPath: string): TargetParams {
  return { TARGET: t.path, TMP: tmpPath, BYTES: t.bytes, SHA256: t.sha256, MODE: t.mode.toString(8).padStart(4, '0'), OWNER: t.owner ?? '' };
}

/**
 * The script (run with `bash -c`) that receives a streamed file on stdin (src/remote/scripts/receive.sh):
 * decoded from `encoding`, hashed as it arrives, verified and renamed over the target; with `keepAt`, the
 * stream as it arrived is also written there (mode 0600), e.g. for peer hosts to fetch the compressed copy.
 */
export function receiveScript(t: UploadTarget, tmpPath: string, encoding: Encoding, keepAt?: string, ...then: readonly ScriptPart[]): string {
  return remoteScripts(scriptPart('receive', { ...targetParams(t, tmpPath), ENCODING: encoding, KEEP_AT: keepAt ?? '' }), ...then);
}

/**
 * PutFileOptions.then's failure: the stderr (or exit code) when the exec ended with the part's own
 * `failedExit` (the file is in place then); undefined otherwise (success, or the upload itself failed).
 */
export function thenFailure(then: PutFileOptions['then'], r: Pick<RunResult, 'code' | 'stderr'>): string | undefined {
  return then && r.code === then.failedExit ? r.stderr.trim() || `exit ${r.code}` : undefined;
}

/** The script that installs a file already written to `tmpPath` (SFTP): verify, then rename; then the `then` parts. */
export function installScript(t: UploadTarget, tmpPath: string, ...then: readonly ScriptPart[]): string {
  return remoteScripts(scriptPart('install', targetParams(t, tmpPath)), ...then);
}

/** Before an SFTP upload: the target's directory made, stale temporaries of it removed. */
export function uploadDirScript(path: string): string {
  return remoteScript('upload-dir', { TARGET: path });
}

/** A small file written from the script itself (base64), with its mode. */
export interface InlineFile {
  path: string;
  mode: number;
  content: string | Buffer;
  /** owning user (and group of the same name), e.g. etcd's files */
  owner?: string;
}

/** lib.sh fp_write_files' arrays for `files` (write-files.sh, and scripts that write files among other steps). */
export function inlineFileParams(files: readonly InlineFile[], random: () => string = () => randomBytes(6).toString('hex')): InlineFileParams {
  const bodies = files.map((f) => (Buffer.isBuffer(f.content) ? f.content : Buffer.from(f.content)));
  return {
    PATHS: files.map((f) => f.path), MODES: files.map((f) => f.mode.toString(8).padStart(4, '0')), OWNERS: files.map((f) => f.owner ?? ''),
    TMPS: files.map((f) => tempNameFor(f.path, random())), BYTES: bodies.map((b) => b.length), SHA256S: bodies.map(sha256Of),
    CONTENTS: bodies.map((b) => b.toString('base64')),
  };
}

/**
 * Several small files written by one script (src/remote/scripts/write-files.sh), each through a temporary
 * name, verified and renamed; a part, for one round trip with the steps around it (remoteScripts). The
 * caller runs it with RemoteHost.run, whose script is one compound command: nothing runs unless all of it
 * arrived, so a cut connection can never leave some files new and others half-written.
 */
export function writeFilesPart(files: readonly InlineFile[], random?: () => string): ScriptPart {
  return scriptPart('write-files', inlineFileParams(files, random));
}

/** writeFilesPart as a whole script. */
export function writeFilesScript(files: readonly InlineFile[], random?: () => string): string {
  return remoteScripts(writeFilesPart(files, random));
}
