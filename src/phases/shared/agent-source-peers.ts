/**
 * flannel_agent_source peers: the controller pushes the agent to one host (the seed), which serves it to the
 * others over the hosts' own network with `flanneld serve-file` (remote/serve.ts); every host that has it
 * serves too while others still wait (agent-source.ts PeerSchedule), so the controller's uplink carries one
 * copy whatever the number of hosts. Each copy is checked on arrival (length and sha256 of the decoded agent,
 * remote/fetch.ts), at every hop. A host that cannot copy from a peer (firewall, a server gone) is pushed to
 * by the controller instead, and says so; the servers are stopped when the phase ends.
 */
import type { HostRecorder, HostState, PhaseContext } from '../framework/types.js';
import type { Limiter } from '../framework/limit.js';
import { DECODERS, type Encoding } from '../../remote/encodings.js';
import { fetchPart } from '../../remote/fetch.js';
import { remoteScripts } from '../../remote/remote-script.js';
import { SERVE_DIR, SERVE_FAILED_EXIT, serveStartPart, serveStopScript } from '../../remote/serve.js';
import { tempNameFor } from '../../remote/upload.js';
import { StepFailedError } from '../../util/errors.js';
import { PeerSchedule, peerEncoding, peerOrder } from './agent-source.js';
import { hostTools, pushBinary, type LocalBinary } from './push-binary.js';

/** A peer copy over the hosts' network (100 MB even on a slow LAN). */
const PEER_FETCH_TIMEOUT_S = 300;
/**
 * A peer's server must accept the connection this soon, else the host is pushed to: hosts on one network
 * answer in milliseconds, and with flannel_agent_source auto (the default) a firewall between them must not
 * cost the kernel's ~2 min of SYN retries.
 */
const PEER_CONNECT_TIMEOUT_S = 3;
/** A server with nobody fetching for this long stops by itself (the controller stops it sooner). */
const SERVE_IDLE_S = 60;

export interface PeerCopyInput {
  binary: LocalBinary;
  /** the hosts that need the agent (source peers, sha256 differs) */
  hosts: HostState[];
  remotePath(h: HostState): string;
  what: string;
  /** the bound on pushes from the controller (--concurrent-uploads), shared with the phase's other pushes */
  uploads: Limiter;
}

interface Server { host: HostState; ip: string; port: number; served: Encoding }

/** The URL path a server offers a copy in `e` under. */
const servedPath = (e: Encoding): string => `/flanneld${DECODERS[e].suffix}`;

/** Container-side devices: their addresses are never where a peer's request comes from. */
const CONTAINER_DEVICES = /^(lo$|flannel\.|docker0$|cni0$|veth|br-)/;

/** The host's IPv4 addresses (facts), for the servers' allow lists: a peer may fetch from any of them. */
function addressesOf(h: HostState): string[] {
  return (h.facts.gathered?.interfaces ?? []).filter((i) => !CONTAINER_DEVICES.test(i.name)).flatMap((i) => i.addrs.map((a) => a.ip));
}

/**
 * The per-host work of the peers source, for one ctx.forEachHost over `order(input)` (the seed first). The
 * caller awaits `stopServers()` after it, also when it failed.
 */
export function peerCopier(ctx: PhaseContext, input: PeerCopyInput): {
  order: HostState[];
  copy(h: HostState, rec: HostRecorder): Promise<void>;
  stopServers(): Promise<void>;
} {
  const order = peerOrder(input.hosts.map((h) => ({ name: h.name, tools: hostTools(h), h })), input.binary).map((x) => x.h);
  const seed = order[0];
  const schedule = new PeerSchedule<Server>(order.length - 1);
  const { uploads } = input;
  const serving = new Set<HostState>();
  const allow = [...new Set(order.flatMap(addressesOf))];

  const serveArgs = (h: HostState, served: Encoding, keptAt: string | undefined) => ({
    listen: h.facts.iface?.publicIp ?? '',
    port: h.spec.flannel.agentSource.servePort,
    files: { [servedPath('plain')]: input.remotePath(h), ...(keptAt && served !== 'plain' ? { [servedPath(served)]: keptAt } : {}) },
    allow: allow.filter((ip) => !addressesOf(h).includes(ip)),
    idleTimeoutS: SERVE_IDLE_S,
    removeOnExit: keptAt ? [keptAt] : [],
  });
  const asServer = (h: HostState, served: Encoding): Server => ({ host: h, ip: h.facts.iface!.publicIp, port: h.spec.flannel.agentSource.servePort, served });
  const keepAt = (e: Encoding): string => `${SERVE_DIR}/flanneld${DECODERS[e].suffix}`;

  /**
   * The controller pushes (the seed, or a host that could not copy from a peer); a seed (`serve`) starts its
   * server in the same exec, right after the agent is in place: no round trip, no gap between the two.
   */
  const push = (h: HostState, rec: HostRecorder, serve: boolean, keep = false) => uploads.run(() => pushBinary(h, rec, {
    binary: input.binary, remotePath: input.remotePath(h), remoteSha256: undefined, transfer: h.spec.flannel.transfer, what: input.what,
    ...(keep ? { keepAt } : {}),
    ...(serve ? { then: (kept: Encoding, keptAt: string | undefined) => ({ part: serveStartPart(input.remotePath(h), serveArgs(h, kept, keptAt)), failedExit: SERVE_FAILED_EXIT }) } : {}),
    ...(ctx.options.signal ? { signal: ctx.options.signal } : {}),
  }));

  async function seedCopy(h: HostState, rec: HostRecorder): Promise<void> {
    schedule.providerComing();
    let pushed;
    try {
      pushed = await push(h, rec, order.length > 1, order.some((x) => x !== h && x.spec.flannel.agentSource.peerCompression));
    } catch (e) {
      schedule.providerFailed();
      throw e;
    }
    if (order.length === 1) return;
    if (pushed.thenFailed !== undefined) {
      // installed but not serving: the others are pushed to instead
      schedule.providerFailed();
      rec.info(`${pushed.thenFailed.split('\n').slice(-1)[0] ?? 'cannot serve the agent to peers'}; the other hosts get it from the controller`);
      return;
    }
    serving.add(h);
    rec.info(`serving ${input.what} to ${order.length - 1} peer(s) on ${h.facts.iface!.publicIp}:${h.spec.flannel.agentSource.servePort}`);
    schedule.addServer(asServer(h, pushed.kept));
  }

  async function peerCopy(h: HostState, rec: HostRecorder): Promise<void> {
    let slot;
    try {
      slot = await schedule.acquire();
    } catch (e) {
      rec.info(`${(e as Error).message}: pushing from the controller`);
      await push(h, rec, false);
      return;
    }
    const from = slot.server;
    const encoding = peerEncoding(from.served, hostTools(h), h.spec.flannel.agentSource.peerCompression);
    const keptAt = slot.willServe && encoding !== 'plain' ? keepAt(encoding) : undefined;
    const url = `http://${from.ip}:${from.port}${servedPath(encoding)}`;
    const t0 = Date.now();
    const target = { path: input.remotePath(h), mode: 0o755, bytes: input.binary.bytes, sha256: input.binary.sha256 };
    // one round trip: the fetch, then (a host that will serve) the server's start
    const fetch = fetchPart(target, tempNameFor(target.path), { url, direct: true, encoding, timeoutS: PEER_FETCH_TIMEOUT_S, connectTimeoutS: PEER_CONNECT_TIMEOUT_S, ...(keptAt ? { keepAt: keptAt } : {}) });
    const serve = slot.willServe ? [serveStartPart(target.path, serveArgs(h, keptAt ? encoding : 'plain', keptAt))] : [];
    const r = await h.remote().run(remoteScripts(fetch, ...serve), { timeoutMs: (PEER_FETCH_TIMEOUT_S + 60) * 1000 });
    const copied = r.code === 0 || r.code === SERVE_FAILED_EXIT;
    slot.release(!copied);
    if (!copied) {
      if (slot.willServe) schedule.providerFailed();
      const why = r.stderr.trim().split('\n').slice(-2).join(' | ') || `exit ${r.code ?? r.signal ?? '?'}`;
      rec.info(`copying ${input.what} from ${from.host.name} (${url}) failed: ${why}; pushing from the controller`);
      await push(h, rec, false);
      return;
    }
    rec.changed(`${input.what} copied from ${from.host.name} to ${target.path} (${encoding}, ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    if (!slot.willServe) return;
    if (r.code === SERVE_FAILED_EXIT) {
      schedule.providerFailed();
      rec.info(r.stderr.trim().split('\n').slice(-1)[0] ?? 'cannot serve the agent to peers');
      return;
    }
    serving.add(h);
    schedule.addServer(asServer(h, keptAt ? encoding : 'plain'));
  }

  return {
    order,
    copy: (h, rec) => (h === seed ? seedCopy(h, rec) : peerCopy(h, rec)),
    async stopServers() {
      await Promise.allSettled([...serving].map((h) => h.remote().run(serveStopScript())));
    },
  };
}
