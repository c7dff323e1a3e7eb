/**
 * A host downloading a file over HTTP(S) into place, verified like an upload (upload.ts): the body is
 * decoded, hashed as it arrives, checked for length and sha256, then renamed over the target. Used for
 * flannel_agent_source url (a mirror) and peers (another host's `flanneld serve-file`).
 *
 * The fetcher is whatever the host has: curl, else wget, else bash's /dev/tcp (http:// only, nothing to
 * install: minimal Debian has neither curl nor wget). Proxies: the given one, else the host's own
 * http_proxy/https_proxy/no_proxy, also read from /etc/environment (sudo and non-login SSH sessions drop
 * them); peers never use a proxy.
 */
import type { Encoding } from './encodings.js';
import { remoteScripts, scriptPart, type ScriptPart } from './remote-script.js';
import { targetParams, type TargetParams, type UploadTarget } from './upload.js';

declare module './remote-script.js' {
  interface RemoteScripts {
    fetch: TargetParams & { URL: string; PROXY: string; TIMEOUT: number; CONNECT_TIMEOUT: number; ENCODING: Encoding; KEEP_AT: string };
  }
}

export interface FetchSpec {
  url: string;
  /** e.g. http://proxy:3128; undefined: the host's settings */
  proxy?: string;
  /** ignore every proxy setting (peers on the hosts' own network) */
  direct?: boolean;
  /** how the body is encoded (.xz, .gz or plain) */
  encoding: Encoding;
  /** keep the body as it arrived (still encoded) here too */
  keepAt?: string;
  /** the whole download may take this long */
  timeoutS: number;
  /**
   * with `direct`: the server must accept the connection within this many seconds (a dropped SYN otherwise
   * waits for the kernel's retries, ~2 min)
   */
  connectTimeoutS?: number;
}

/**
 * The script (run with RemoteHost.run; src/remote/scripts/fetch.sh) that downloads `f.url` into `t.path`
 * through `tmpPath`, decoding it and checking length and sha256 as an upload is; a failed or short
 * download leaves the old file.
 */
export function fetchScript(t: UploadTarget, tmpPath: string, f: FetchSpec): string {
  return remoteScripts(fetchPart(t, tmpPath, f));
}

/** The same as a part of a longer script (a peer that serves what it fetched: remote/serve.ts servePart). */
export function fetchPart(t: UploadTarget, tmpPath: string, f: FetchSpec): ScriptPart {
  return scriptPart('fetch', {
    URL: f.url, PROXY: f.direct ? 'direct' : f.proxy ?? '', TIMEOUT: f.timeoutS, CONNECT_TIMEOUT: f.connectTimeoutS ?? 0, ...targetParams(t, tmpPath),
    ENCODING: f.encoding, KEEP_AT: f.keepAt ?? '',
  });
}

/** The encoding a mirror's file is in, by its name (.xz, .gz; anything else is the binary itself). */
export function encodingOfUrl(url: string): Encoding {
  const path = url.replace(/[?#].*$/, '');
  return /\.xz$/i.test(path) ? 'xz' : /\.gz$/i.test(path) ? 'gzip' : 'plain';
}
