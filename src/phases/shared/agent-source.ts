/**
 * How a binary reaches a host: which encoding a push uses (flannel_transfer_compression against what the host
 * can decode and what the build prebuilt), and, for flannel_agent_source peers, which host copies from which.
 * Pure decisions; push-agent.ts, agent-source-url.ts and agent-source-peers.ts act on them.
 */
import type { AgentSource, TransferMode } from '../../inventory/types.js';
import { DECODERS, ENCODINGS, type Encoding } from '../../remote/encodings.js';

/** A binary on the controller and the encoded copies the build made of it (dist/flanneld.json). */
export interface LocalBinary {
  path: string;
  sha256: string;
  bytes: number;
  /** prebuilt encoded copies (dist/flanneld.xz, .gz): file and length */
  encoded: Partial<Record<Exclude<Encoding, 'plain'>, { file: string; bytes: number }>>;
}

/** How one push travels. */
export interface PushWay {
  /** the stream's encoding, or sftp */
  encoding: Encoding | 'sftp';
  /** the prebuilt copy of `encoding` is sent (else plain as is, or gzip -1 made on the controller) */
  prebuilt: boolean;
  /** why this is not what was asked for (the host lacks a decoder, no prebuilt copy) */
  note?: string;
}

/** The compressed encodings, best first (docs/transfer.md: xz is smallest, gzip is on every host). */
const COMPRESSED = ENCODINGS.filter((e): e is Exclude<Encoding, 'plain'> => e !== 'plain');

const canDecode = (e: Encoding, tools: ReadonlySet<string>): boolean => {
  const tool = DECODERS[e].tool;
  return tool === undefined || tools.has(tool);
};

/**
 * The way to push `bin` to a host that has `tools` (facts) for the inventory's `mode`:
 * auto: the best prebuilt encoding the host can decode, else plain; xz / gzip: that one when it can be
 * decoded (gzip without a prebuilt copy is made on the controller), else as auto; plain; sftp.
 */
export function pushWay(mode: TransferMode, tools: ReadonlySet<string>, bin: Pick<LocalBinary, 'encoded'>): PushWay {
  if (mode === 'sftp' || mode === 'plain') return { encoding: mode, prebuilt: false };
  const missing: string[] = [];
  if (mode !== 'auto') {
    if (!canDecode(mode, tools)) missing.push(`${mode} asked for, but the host has no ${DECODERS[mode].tool}`);
    else if (bin.encoded[mode]) return { encoding: mode, prebuilt: true };
    else if (mode === 'gzip') return { encoding: 'gzip', prebuilt: false };
    else missing.push(`${mode} asked for, but there is no prebuilt ${mode} copy (npm run build writes it)`);
  }
  for (const e of COMPRESSED) {
    if (!bin.encoded[e]) continue;
    if (canDecode(e, tools)) return { encoding: e, prebuilt: true, ...(missing.length ? { note: missing.join('; ') } : {}) };
    if (mode === 'auto') missing.push(`no ${DECODERS[e].tool} on the host`);
  }
  return { encoding: 'plain', prebuilt: false, ...(missing.length ? { note: missing.join('; ') } : {}) };
}

/**
 * What a host that copies from a peer fetches: the plain binary, or with `compressed`
 * (flannel_agent_peer_compression) the compressed copy the peer keeps when it can decode it. Plain is the
 * default because hosts' own network is fast and decoding is not: xz decodes the 99.7 MB agent at ~75 MB/s
 * of CPU, slower than 1 Gbit/s carries it plain (docs/transfer.md, measured on the WAN lab).
 */
export function peerEncoding(served: Encoding, tools: ReadonlySet<string>, compressed: boolean): Encoding {
  return compressed && canDecode(served, tools) ? served : 'plain';
}

/** A host can serve the agent to its peers: `flanneld serve-file` runs as a transient unit (remote/serve.ts). */
export const canServe = (tools: ReadonlySet<string>): boolean => tools.has('systemd-run');

/** Where a host gets the agent in this run, once flannel_agent_source auto is decided. */
export type RunSource = Exclude<AgentSource['kind'], 'auto'>;

/**
 * What flannel_agent_source means for each host that needs the agent in this run (`hosts`: those whose
 * sha256 differs). auto is peers when more than one of the hosts that may copy from peers (auto or peers)
 * needs it and one of them can serve: the controller's uplink then carries one copy, not one per host
 * (docs/transfer.md: on a 50 ms, 100 Mbit/s link 3 hosts took 3.8 s with peers against 6.7 s pushing xz).
 * One host alone, or none that can serve, is pushed to: a hop through a peer would only add time. A host whose
 * peer copy fails is still pushed to by the controller (agent-source-peers.ts).
 */
export function runSources<H extends SourceHost>(hosts: readonly H[]): RunSource[] {
  const { source } = autoSource(hosts);
  return hosts.map((h) => (h.kind !== 'auto' ? h.kind : source));
}

type SourceHost = { kind: AgentSource['kind']; tools: ReadonlySet<string> };

/** What auto means in this run (runSources) and why, for the -v line of each auto host. */
export function autoSource(hosts: readonly SourceHost[]): { source: 'peers' | 'push'; why: string } {
  const group = hosts.filter((h) => h.kind === 'auto' || h.kind === 'peers');
  if (group.length <= 1) {
    return { source: 'push', why: hosts.length > 1 ? 'the only host that needs the agent and may copy it from peers' : 'the only host that needs the agent' };
  }
  if (!group.some((h) => canServe(h.tools))) return { source: 'push', why: 'no host that needs the agent can serve it (systemd-run)' };
  return { source: 'peers', why: `${group.length} hosts need the agent; the controller sends one copy` };
}

/**
 * The order in which `peers` hosts get the agent: a seed first (pushed by the controller), preferably one that
 * can serve and decode the best prebuilt encoding (its compressed copy is what it serves), then the others by
 * name.
 */
export function peerOrder<H extends { name: string; tools: ReadonlySet<string> }>(hosts: readonly H[], bin: Pick<LocalBinary, 'encoded'>): H[] {
  const best = COMPRESSED.find((e) => bin.encoded[e]);
  const sorted = [...hosts].sort((a, b) => a.name.localeCompare(b.name));
  const decodes = (h: H): boolean => !!best && canDecode(best, h.tools);
  const seed = sorted.find((h) => canServe(h.tools) && decodes(h)) ?? sorted.find((h) => canServe(h.tools)) ?? sorted.find(decodes) ?? sorted[0];
  return seed ? [seed, ...sorted.filter((h) => h !== seed)] : [];
}

/** How many peers one host serves at once (flannel_agent_source peers). */
export const PEER_FANOUT = 4;

/** A host's turn to copy from a server. */
export interface PeerSlot<S> {
  server: S;
  /** the copying host is to serve others afterwards (hosts still wait after it) */
  willServe: boolean;
  /**
   * the copy is done; `failed`: the server is not used again, unless a copy from it has worked already (then
   * the fault is more likely the copying host's own: a firewall on its side)
   */
  release(failed?: boolean): void;
}

/**
 * Who copies from whom (flannel_agent_source peers): hosts that have the agent serve up to `fanout` peers at
 * once; a host that got it serves too while others still wait, so the copies spread like a tree whose root
 * (the seed) is the only one the controller sends to. When no host has it and none is on the way (the seed's
 * push failed, every server failed), the waiting hosts are told, to be pushed to directly instead.
 */
export class PeerSchedule<S> {
  private readonly servers: { s: S; busy: number; served: number }[] = [];
  private readonly waiting: { resolve: (slot: PeerSlot<S>) => void; reject: (e: Error) => void }[] = [];
  /** hosts getting the agent that will serve it once they have it */
  private coming = 0;

  /** `remaining`: how many hosts will acquire a slot */
  constructor(private remaining: number, private readonly fanout = PEER_FANOUT) {}

  /** A host will serve once it has the agent (the seed, before its push). */
  providerComing(): void {
    this.coming++;
  }

  /** A host that was to serve could not (its copy or its server failed). */
  providerFailed(): void {
    this.coming--;
    this.dispatch();
  }

  /** A host has the agent and serves it now. */
  addServer(s: S): void {
    this.coming--;
    this.servers.push({ s, busy: 0, served: 0 });
    this.dispatch();
  }

  acquire(): Promise<PeerSlot<S>> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.dispatch();
    });
  }

  private dispatch(): void {
    for (;;) {
      const w = this.waiting[0];
      if (!w) return;
      const free = this.servers.filter((x) => x.busy < this.fanout).sort((a, b) => a.busy - b.busy)[0];
      if (!free) {
        if (!this.servers.length && this.coming <= 0) {
          for (const x of this.waiting.splice(0)) x.reject(new Error('no host has the agent to copy it from'));
        }
        return;
      }
      this.waiting.shift();
      free.busy++;
      this.remaining--;
      const willServe = this.remaining > 0;
      if (willServe) this.coming++;
      let done = false;
      w.resolve({
        server: free.s,
        willServe,
        release: (failed) => {
          if (done) return;
          done = true;
          free.busy--;
          if (!failed) free.served++;
          // (two copies from one server may fail at once: it is removed once)
          else if (!free.served && this.servers.includes(free)) this.servers.splice(this.servers.indexOf(free), 1);
          this.dispatch();
        },
      });
    }
  }
}
