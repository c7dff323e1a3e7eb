/**
 * How a file may travel to a host compressed, and how the host gets it back: the decoder a host runs on the
 * stream (lib.sh fp_decode) before the length and sha256 of the result are checked (upload.ts). The agent's prebuilt artifacts
 * (dist/flanneld.xz, dist/flanneld.gz, scripts/compress-agent.mjs) are named by these encodings in
 * dist/flanneld.json; docs/transfer.md has the measurements behind them.
 */
export const ENCODINGS = ['xz', 'gzip', 'plain'] as const;
export type Encoding = (typeof ENCODINGS)[number];

interface Decoder {
  /** the executable the host needs (facts report whether it has it); none for plain */
  tool?: string;
  /** the file name suffix of a copy in this encoding */
  suffix: string;
}

export const DECODERS: Readonly<Record<Encoding, Decoder>> = {
  xz: { tool: 'xz', suffix: '.xz' },
  gzip: { tool: 'gzip', suffix: '.gz' },
  plain: { suffix: '' },
};

/** A file that travels encoded: `file` on the controller holds the content in `encoding`. */
export interface EncodedSource {
  file: string;
  encoding: Encoding;
  /** also keep the stream as it arrived (still encoded) at this path on the host, e.g. for peers to fetch */
  keepAt?: string;
}
