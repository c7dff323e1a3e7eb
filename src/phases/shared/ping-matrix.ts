/**
 * Verification by real traffic: a probe (a container, or a network namespace where Docker is not managed)
 * on every host, an all-pairs ping matrix between the probes, plus one full-MTU don't-fragment ping per
 * pair so MTU black holes show up. Scripts (one per host per step) and the pure parsing, matrix and
 * diagnosis live here; the verify phase only runs them.
 */
import { PROBE_IMAGE, PROBE_NAME } from '../../network/probe.js';
import { CNI_DEFAULT_NETWORK } from '../../network/cni.js';
import type { VerifyMatrix } from '../framework/events.js';
import { firstHost, formatIpv4, parseCidr, sizeOf } from '../../network/ipv4.js';
import { SECTION_MARKER, jsonOr, parseSections, section, sectionsNamed } from '../../remote/sections.js';
import { remoteScript } from '../../remote/remote-script.js';

declare module '../../remote/remote-script.js' {
  interface RemoteScripts {
    'ping-matrix': {
      EXEC: string; SIZE: number; HOSTS: readonly string[]; IPS: readonly string[];
      VERDICT: 0 | 1; PROBE_KIND: ProbeKind; PROBE_NAME: string; PROBE_VETH: string;
    };
    'probe-start': {
      KIND: ProbeKind; NAME: string; IMAGE: string; NETWORK: string;
      VETH: string; IP: string; PREFIXLEN: number | string; GATEWAY: string; MTU: number | string;
    };
    'probe-remove': { KIND: ProbeKind; NAME: string; VETH: string; BACKGROUND: 0 | 1 };
  }
}

/** host side of the netns probe's veth (≤ 15 chars); the namespace side is renamed eth0 */
export const PROBE_VETH = 'fpprobe0';

/** docker: a Docker container; podman: a Podman container on the host's CNI network; netns: a bare namespace */
export type ProbeKind = 'docker' | 'podman' | 'netns';

export interface Probe {
  kind: ProbeKind;
  ip: string;
  mtu: number;
  /** command prefix that runs a program inside the probe's network namespace */
  exec: string;
}

/**
 * Starts a probe and prints `probe` = `ip -j addr show eth0` from inside it (src/remote/scripts/probe-start.sh,
 * lib.sh fp_probe_*). docker/podman: a container from the probe image (podman: on the host's CNI network);
 * netns: a namespace with a veth into the host's flannel subnet (the namespace takes the subnet's last host
 * address, the host side the subnet's first, as docker0 would).
 */
export function probeStartScript(kind: ProbeKind, opts: { image?: string; subnet?: string; mtu?: number; network?: string } = {}): string {
  const base = { KIND: kind, NAME: PROBE_NAME, IMAGE: opts.image ?? PROBE_IMAGE, NETWORK: '', VETH: '', IP: '', PREFIXLEN: '', GATEWAY: '', MTU: '' };
  if (kind === 'podman') return remoteScript('probe-start', { ...base, NETWORK: opts.network ?? CNI_DEFAULT_NETWORK });
  if (kind === 'docker') return remoteScript('probe-start', base);
  const sn = opts.subnet ? parseCidr(opts.subnet) : undefined;
  if (!sn) throw new Error(`netns probe needs the host's flannel subnet (got ${opts.subnet ?? 'none'})`);
  return remoteScript('probe-start', {
    ...base, IMAGE: '', VETH: PROBE_VETH, IP: formatIpv4((sn.ip + sizeOf(sn.prefixLen) - 2) >>> 0), PREFIXLEN: sn.prefixLen,
    GATEWAY: formatIpv4(firstHost(sn)), MTU: opts.mtu ?? 1500,
  });
}

export function parseProbe(kind: ProbeKind, stdout: string): Probe | undefined {
  const sections = parseSections(stdout);
  const body = section(sections, 'probe')?.body;
  const j = jsonOr<{ mtu: number; addr_info?: { family: string; local: string }[] }[]>(body, []);
  const a = j[0]?.addr_info?.find((x) => x.family === 'inet');
  if (!j[0] || !a) return undefined;
  const exec = section(sections, 'exec')?.body.trim() || (kind === 'docker' ? `docker exec ${PROBE_NAME}` : `ip netns exec ${PROBE_NAME}`);
  return { kind, ip: a.local, mtu: j[0].mtu, exec };
}

/**
 * Removes the probe (src/remote/scripts/probe-remove.sh). `background`: a container's removal (~0.1-0.15 s
 * of the runtime's time per host, 0.75 s of a 10-host run's wall time when waited for) runs detached on the
 * host and the script returns at once; the next probe start removes a leftover that is still in the way.
 */
export function probeRemoveScript(kind: ProbeKind, opts: { background?: boolean } = {}): string {
  return remoteScript('probe-remove', { KIND: kind, NAME: PROBE_NAME, VETH: PROBE_VETH, BACKGROUND: opts.background ? 1 : 0 });
}

export interface PingTarget {
  host: string;
  ip: string;
}

/**
 * Pings every target from this host's probe, all at once: 3 don't-fragment pings of `mtu − 28` bytes (full
 * size, 20 ms apart); only when they fail, 3 small pings tell a lost path from an MTU black hole, and the
 * host's own `ip route get` for the target, for diagnosis. Each target's result is printed with a single
 * printf (atomic on the pipe); no helper processes besides the pings (a 10-host matrix is 90 of them).
 * The script is src/remote/scripts/ping-matrix.sh. `verdict`: for an open session (verify.ts): after the
 * results it prints the PING_END marker and waits for one line, `remove` (the probe goes, in the background)
 * or anything else (it stays, for another round).
 */
export function pingScript(probe: Pick<Probe, 'exec' | 'mtu' | 'kind'>, targets: readonly PingTarget[], opts: { verdict?: boolean } = {}): string {
  return remoteScript('ping-matrix', {
    EXEC: probe.exec, SIZE: probe.mtu - 28, HOSTS: targets.map((t) => t.host), IPS: targets.map((t) => t.ip),
    VERDICT: opts.verdict ? 1 : 0, PROBE_KIND: probe.kind, PROBE_NAME, PROBE_VETH,
  });
}

/** The line pingScript's verdict mode prints once every result is out. */
export const PING_END = `${SECTION_MARKER} ping_end`;

export interface PingResult {
  host: string;
  ok: boolean;
  rttMs?: number;
  mtuOk: boolean;
  smallText: string;
  dfText: string;
}

export function parsePingOutput(stdout: string): { results: PingResult[]; routeGet: Map<string, { dev?: string; gateway?: string; error?: string }> } {
  const s = parseSections(stdout);
  const results: PingResult[] = [];
  const byHost = new Map<string, string[]>();
  for (const sec of sectionsNamed(s, 'ping')) byHost.set(sec.arg, [...(byHost.get(sec.arg) ?? []), ...sec.body.split('\n')]);
  for (const [host, lines] of byHost) {
    const sec = { arg: host };
    const small = /^small (\d+) ?(.*)$/.exec(lines.find((l) => l.startsWith('small ')) ?? '');
    const df = /^df (\d+) ?(.*)$/.exec(lines.find((l) => l.startsWith('df ')) ?? '');
    const rtt = /= [\d.]+\/([\d.]+)\//.exec(small?.[2] ?? '');
    const r: PingResult = {
      host: sec.arg,
      ok: small?.[1] === '0',
      mtuOk: df?.[1] === '0',
      smallText: (small?.[2] ?? '').trim(),
      dfText: (df?.[2] ?? '').trim(),
    };
    if (rtt) r.rttMs = Number(rtt[1]);
    results.push(r);
  }
  const routeGet = new Map<string, { dev?: string; gateway?: string; error?: string }>();
  for (const sec of sectionsNamed(s, 'routeget')) {
    const j = jsonOr<{ dev?: string; gateway?: string }[] | null>(sec.body, null);
    routeGet.set(sec.arg, j?.[0] ? { ...(j[0].dev ? { dev: j[0].dev } : {}), ...(j[0].gateway ? { gateway: j[0].gateway } : {}) } : { error: sec.body.trim() });
  }
  return { results, routeGet };
}

/** What the diagnosis knows about each host. */
export interface DiagHost {
  name: string;
  publicIp: string;
  agentReady: boolean;
  forwardPolicy?: string;
  flannelFwd: boolean;
  probe?: Probe;
  /** source host's `ip route get <peer probe>` results, by peer name */
  routeGet?: Map<string, { dev?: string; gateway?: string; error?: string }>;
}

/** The likely cause of a failed pair src → dst, in words. */
export function diagnose(src: DiagHost, dst: DiagHost, r: PingResult): string {
  if (r.ok && !r.mtuOk) {
    return `MTU black hole: small pings pass but a ${(src.probe?.mtu ?? 0)}-byte packet with don't-fragment set does not (${r.dfText || 'no reply'}); the underlay path MTU is smaller than the container MTU ${src.probe?.mtu ?? '?'} + encapsulation`;
  }
  const causes: string[] = [];
  for (const h of [src, dst]) if (!h.agentReady) causes.push(`the agent on ${h.name} is not ready`);
  const rg = src.routeGet?.get(dst.name);
  if (rg) {
    if (rg.error) causes.push(`no route on ${src.name} to ${dst.name}'s probe ${dst.probe?.ip ?? ''}: ${rg.error}`);
    else if (!(rg.dev && /^flannel[.-]/.test(rg.dev)) && rg.gateway !== dst.publicIp) {
      causes.push(`missing flannel route on ${src.name}: ip route get ${dst.probe?.ip ?? ''} goes ${rg.gateway ? `via ${rg.gateway} ` : ''}dev ${rg.dev ?? '?'} (expected flannel.* or via ${dst.publicIp})`);
    }
  }
  for (const h of [src, dst]) {
    if (h.forwardPolicy === 'DROP' && !h.flannelFwd) causes.push(`FORWARD policy DROP without FLANNEL-FWD on ${h.name}`);
  }
  if (!causes.length) causes.push(`packets lost between ${src.name} and ${dst.name} (${r.smallText || 'no reply'}): check UDP/IP filtering between the hosts`);
  return causes.join('; ');
}

/** Builds the matrix (rows = source, columns = target) from each source's results. */
export function buildMatrix(hosts: readonly string[], bySource: Map<string, PingResult[]>, messages: Map<string, string> = new Map()): VerifyMatrix {
  const cells = hosts.map((src) =>
    hosts.map((dst) => {
      if (src === dst) return null;
      const r = bySource.get(src)?.find((x) => x.host === dst);
      if (!r) return { ok: false, mtuOk: false, message: messages.get(`${src}>${dst}`) ?? 'not measured' };
      const m = messages.get(`${src}>${dst}`);
      return { ok: r.ok, mtuOk: r.mtuOk, ...(r.rttMs !== undefined ? { rttMs: r.rttMs } : {}), ...(m ? { message: m } : {}) };
    }),
  );
  return { hosts: [...hosts], cells };
}

export function matrixOk(m: VerifyMatrix): boolean {
  return m.cells.every((row) => row.every((c) => c === null || (c.ok && c.mtuOk !== false)));
}

// The text form of the matrix is the reporters' (cli/output/format.ts formatMatrix).
