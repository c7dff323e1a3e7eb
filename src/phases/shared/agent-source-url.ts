/**
 * flannel_agent_source url: the host downloads the agent from a mirror the user names (HTTP or HTTPS, the
 * proxy of flannel_agent_proxy or the host's own), a name ending in .xz or .gz decoded on the host; the result
 * is checked against this build's length and sha256 before it replaces anything (remote/fetch.ts). The
 * controller sends nothing but the script.
 */
import { StepFailedError } from '../../util/errors.js';
import type { HostRecorder, HostState } from '../framework/types.js';
import { DECODERS } from '../../remote/encodings.js';
import { encodingOfUrl, fetchScript } from '../../remote/fetch.js';
import { tempNameFor } from '../../remote/upload.js';
import { hostTools, type LocalBinary } from './push-binary.js';

/** How long one download may take (a slow mirror: 100 MB at 2 Mbit/s). */
export const DOWNLOAD_TIMEOUT_S = 600;

export interface UrlFetchInput {
  binary: LocalBinary;
  remotePath: string;
  url: string;
  proxy?: string;
  /** "the agent" */
  what: string;
}

/** Downloads the binary on the host; StepFailedError (naming the URL and what arrived) when it did not come whole. */
export async function fetchFromUrl(h: HostState, rec: HostRecorder, p: UrlFetchInput): Promise<void> {
  const encoding = encodingOfUrl(p.url);
  const tool = DECODERS[encoding].tool;
  if (tool && !hostTools(h).has(tool)) {
    throw new StepFailedError(`flannel_agent_url ${p.url} is ${encoding}-compressed, but the host has no ${tool}`, h.name,
      `install ${tool === 'xz' ? 'xz-utils (Debian/Ubuntu) or xz (RHEL)' : tool} on the host, or point flannel_agent_url at the .gz copy (gzip is on every host) or the plain binary`);
  }
  const t0 = Date.now();
  const script = fetchScript({ path: p.remotePath, mode: 0o755, bytes: p.binary.bytes, sha256: p.binary.sha256 }, tempNameFor(p.remotePath),
    { url: p.url, encoding, timeoutS: DOWNLOAD_TIMEOUT_S, ...(p.proxy ? { proxy: p.proxy } : {}) });
  const r = await h.remote().run(script, { timeoutMs: (DOWNLOAD_TIMEOUT_S + 60) * 1000 });
  if (r.code !== 0) {
    const why = r.stderr.trim().split('\n').filter((l) => !/^\/.*bashrc|^bash: /.test(l)).slice(-3).join('\n    ') || `exit ${r.code ?? r.signal ?? '?'}`;
    const otherBuild = /corrupted: sha256|incomplete: \d+ of/.test(r.stderr);
    // the advice goes into the message: a host's failure is reported by its message alone
    const advice = otherBuild
      ? `the mirror holds another build: put this build's dist/flanneld${DECODERS[encoding].suffix} there (the binary's sha256 is ${p.binary.sha256}, as in dist/flanneld.sha256)`
      : 'check that the host reaches the URL (flannel_agent_proxy for a proxy), or use flannel_agent_source: push';
    throw new StepFailedError(`downloading ${p.what} from ${p.url} failed; the old file is untouched:\n    ${why}\n    ${advice}`, h.name);
  }
  rec.changed(`${p.what} downloaded from ${p.url} to ${p.remotePath} (${encoding}, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}
