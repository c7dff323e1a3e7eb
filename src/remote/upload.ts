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
import { remoteScript } from './remote-script.js';

/** Exit status of a remote upload script whose file did not arrive whole (nothing was replaced). */
export const UPLOAD_INCOMPLETE_EXIT = 75;

/** lib.sh fp_verify_install's arguments, as script parameters. */
export interface TargetParams { TARGET: string; TMP: string; BYTES: number; SHA256: string; MODE: string; OWNER: string }

declare module './remote-script.js' {
  interface RemoteScripts {
    receive: TargetParams & { ENCODING: Encoding; KEEP_AT: string };
    install: TargetParams;
    'upload-dir': { TARGET: string };
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

export function dirOf(path: string): string {
  return path.slice(0, path.lastIndexOf('/')) || '/';
}

/** A temporary name next to `remotePath`: `<dir>/.<name>.flanprov-<random>` (same file system: the rename is atomic). */
export function tempNameFor(remotePath: string, random = randomBytes(6).toString('hex')): string {
  const i = remotePath.lastIndexOf('/');
  return `${remotePath.slice(0, i + 1)}.${remotePath.slice(i + 1)}.flanprov-${random}`;
}

/**
 * bash: checks "$tmp" against `t` (length, and the sha256 in $got when `gotVar` names it, else computed
 * here), then sets its mode and renames it over the target; otherwise removes it and exits
 * UPLOAD_INCOMPLETE_EXIT with a message that says what arrived.
 */
export function verifyAndInstall(t: UploadTarget, tmpVar = 'tmp', gotVar?: string): string {
  const tmp = `"$${tmpVar}"`;
  const got = gotVar ? `\${${gotVar}%% *}` : `$(sha256sum < ${tmp} | cut -d' ' -f1)`;
  return [
    `size=$(stat -c %s ${tmp} 2>/dev/null || echo 0)`,
    `if [ "$size" != ${t.bytes} ]; then rm -f -- ${tmp}; echo "upload of ${t.path} incomplete: $size of ${t.bytes} bytes arrived; the old file is untouched" >&2; exit ${UPLOAD_INCOMPLETE_EXIT}; fi`,
    `sum=${got}`,
    `if [ "$sum" != ${t.sha256} ]; then rm -f -- ${tmp}; echo "upload of ${t.path} corrupted: sha256 $sum, expected ${t.sha256}; the old file is untouched" >&2; exit ${UPLOAD_INCOMPLETE_EXIT}; fi`,
    `chmod ${t.mode.toString(8).padStart(4, '0')} ${tmp}`,
    ...(t.owner ? [`chown ${shq(`${t.owner}:${t.owner}`)} ${tmp}`] : []),
    `mv -f -- ${tmp} ${shq(t.path)}`,
  ].join('\n');
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
export function receiveScript(t: UploadTarget, tmpPath: string, encoding: Encoding, keepAt?: string): string {
  return remoteScript('receive', { ...targetParams(t, tmpPath), ENCODING: encoding, KEEP_AT: keepAt ?? '' });
}

/** The script that installs a file already written to `tmpPath` (SFTP): verify, then rename. */
export function installScript(t: UploadTarget, tmpPath: string): string {
  return remoteScript('install', targetParams(t, tmpPath));
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

/**
 * One script that writes several small files, each through a temporary name, verified and renamed. The
 * caller runs it with RemoteHost.run, whose script is one compound command: nothing runs unless all of it
 * arrived, so a cut connection can never leave some files new and others half-written.
 */
export function writeFilesScript(files: readonly InlineFile[], random: () => string = () => randomBytes(6).toString('hex')): string {
  const lines = ['set -e', 'umask 077', 'tmps=()', 'trap \'rm -f -- "${tmps[@]}"\' EXIT'];
  for (const f of files) {
    const body = Buffer.isBuffer(f.content) ? f.content : Buffer.from(f.content);
    const t: UploadTarget = { path: f.path, mode: f.mode, bytes: body.length, sha256: sha256Of(body), ...(f.owner ? { owner: f.owner } : {}) };
    lines.push(
      // an existing directory keeps its mode (etcd's 0700 PKI directory)
      `[ -d ${shq(dirOf(f.path))} ] || install -d -m 0755 ${shq(dirOf(f.path))}`,
      `tmp=${shq(tempNameFor(f.path, random()))}; tmps+=("$tmp")`,
      `printf '%s' ${shq(body.toString('base64'))} | base64 -d > "$tmp"`,
      verifyAndInstall(t),
    );
  }
  lines.push('trap - EXIT');
  return lines.join('\n') + '\n';
}
