/**
 * iproute2 access: read kernel state as JSON (`ip -j`, `bridge -j`) and apply many changes in one
 * process (`ip -batch -`, `bridge -batch -` on stdin). 1,000 route changes in one batch take ~10 ms,
 * versus ~2 ms per spawned `ip`, which is what makes programming 1,000 peers in well under 1 s possible.
 *
 * Every function takes an optional KernelTarget so tests can aim at a network namespace
 * (`ip -n <ns>` / `bridge -n <ns>`, which is cheaper than `ip netns exec`).
 */
import { parseIpv4 } from '../../network/ipv4.js';
import { BatchFailure, KernelCommandError, KernelTarget, run, runOk } from './exec.js';

export type { KernelTarget } from './exec.js';

// ---------------------------------------------------------------------------------------------------
// JSON shapes (only the fields we use; iproute2 6.1 field names)

export interface IpLinkInfoData {
  id?: number;
  local?: string;
  link?: string;
  port?: number;
  learning?: boolean;
  gbp?: boolean;
  group?: string;
  l2miss?: boolean;
  l3miss?: boolean;
  [k: string]: unknown;
}

export interface IpLink {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  operstate?: string;
  address?: string;
  link_type?: string;
  /** with -d */
  linkinfo?: { info_kind?: string; info_data?: IpLinkInfoData; info_slave_kind?: string };
  /** underlying link (vxlan `dev`) as a name when resolvable */
  link?: string;
  [k: string]: unknown;
}

export interface IpAddrInfo {
  family: 'inet' | 'inet6' | string;
  local: string;
  prefixlen: number;
  scope?: string;
  label?: string;
  [k: string]: unknown;
}

export interface IpAddr {
  ifindex: number;
  ifname: string;
  flags: string[];
  mtu: number;
  operstate?: string;
  addr_info: IpAddrInfo[];
}

export interface IpRoute {
  /** normalised: always "a.b.c.d/len" ("default" → "0.0.0.0/0", host routes get "/32") */
  dst: string;
  gateway?: string;
  dev?: string;
  /** as printed: "kernel", "boot", "static", or a number as a string ("241"); absent = boot */
  protocol?: string;
  scope?: string;
  prefsrc?: string;
  metric?: number;
  type?: string;
  flags: string[];
  [k: string]: unknown;
}

export interface IpNeigh {
  dst: string;
  dev?: string;
  lladdr?: string;
  state: string[];
  [k: string]: unknown;
}

export interface FdbEntry {
  mac: string;
  dst?: string;
  ifname?: string;
  flags: string[];
  state?: string;
  vlan?: number;
  [k: string]: unknown;
}

export interface RouteGet {
  dst: string;
  gateway?: string;
  dev?: string;
  prefsrc?: string;
  type?: string;
  /** ["local"] for the host's own addresses */
  cache?: string[];
}

/** An interface with its IPv4 addresses, for interface selection (-iface, -iface-regex, default route). */
export interface Ipv4Interface {
  name: string;
  index: number;
  mtu: number;
  up: boolean;
  loopback: boolean;
  /** IPv4 addresses in kernel order: [{ ip, prefixLen }] */
  addrs: { ip: string; prefixLen: number }[];
}

// ---------------------------------------------------------------------------------------------------
// low level

function ipArgv(target: KernelTarget | undefined, args: readonly string[], tool: 'ip' | 'bridge' = 'ip'): string[] {
  return target?.netns ? [tool, '-n', target.netns, ...args] : [tool, ...args];
}

/** Runs `ip -j <args>` and parses the JSON (an empty output is an empty array). */
export async function ipJson<T>(args: readonly string[], target?: KernelTarget): Promise<T> {
  return parseJson<T>(await runOk(ipArgv(target, ['-j', ...args])), `ip -j ${args.join(' ')}`);
}

/** Runs `bridge -j <args>` and parses the JSON. */
export async function bridgeJson<T>(args: readonly string[], target?: KernelTarget): Promise<T> {
  return parseJson<T>(await runOk(ipArgv(target, ['-j', ...args], 'bridge')), `bridge -j ${args.join(' ')}`);
}

function parseJson<T>(text: string, what: string): T {
  const t = text.trim();
  if (t === '') return [] as unknown as T;
  try {
    return JSON.parse(t) as T;
  } catch (e) {
    throw new Error(`${what}: cannot parse JSON output: ${(e as Error).message}: ${t.slice(0, 200)}`);
  }
}

/** Options for a batch. */
export interface BatchOptions {
  /**
   * Continue past failing lines (`-force`); the call still rejects, with every failure listed, unless
   * `tolerate` accepts them all. Without force the tool stops at the first failing line.
   */
  force?: boolean;
  /** failures for which this returns true are not errors (e.g. "No such process" when deleting) */
  tolerate?: (f: BatchFailure) => boolean;
}

export interface BatchResult {
  /** failures that were tolerated (force mode) */
  tolerated: BatchFailure[];
}

/**
 * Applies lines with `ip -batch -` (tool 'ip') or `bridge -batch -` in one process.
 * On failure rejects with a KernelCommandError whose message names the failed line(s) and their text.
 */
export async function batch(
  tool: 'ip' | 'bridge',
  lines: readonly string[],
  target?: KernelTarget,
  opts: BatchOptions = {},
): Promise<BatchResult> {
  if (lines.length === 0) return { tolerated: [] };
  for (const l of lines) if (l.includes('\n')) throw new Error(`batch line contains a newline: ${JSON.stringify(l)}`);
  const args = [...(opts.force ? ['-force'] : []), '-batch', '-'];
  const argv = ipArgv(target, args, tool);
  const r = await run(argv, lines.join('\n') + '\n');
  if (r.code === 0) return { tolerated: [] };
  const failures = parseBatchErrors(r.stderr, lines);
  const tolerated = opts.tolerate ? failures.filter(opts.tolerate) : [];
  const real = failures.filter((f) => !tolerated.includes(f));
  if (failures.length > 0 && real.length === 0) return { tolerated };
  const cmd = argv.join(' ');
  const shown = (real.length ? real : failures).slice(0, 5);
  const detail = shown.length
    ? shown.map((f) => `line ${f.line} "${f.text}": ${f.error}`).join('; ') +
      (real.length > 5 ? `; and ${real.length - 5} more` : '')
    : r.stderr.trim() || `exit ${r.code}`;
  throw new KernelCommandError(`${tool} -batch failed: ${detail}`, cmd, r.code, r.stderr, real.length ? real : failures);
}

/**
 * iproute2 prints the error message(s) of a failing line, then `Command failed -:<n>`. Messages come as
 * "RTNETLINK answers: File exists" or "Error: Nexthop has invalid gateway." (possibly several lines).
 */
export function parseBatchErrors(stderr: string, lines: readonly string[]): BatchFailure[] {
  const failures: BatchFailure[] = [];
  let pending: string[] = [];
  for (const raw of stderr.split('\n')) {
    const s = raw.trim();
    if (!s) continue;
    const m = /^Command failed -:(\d+)$/.exec(s);
    if (m) {
      const line = Number(m[1]);
      failures.push({ line, text: lines[line - 1] ?? '', error: pending.join(' ') || 'failed' });
      pending = [];
    } else {
      pending.push(s);
    }
  }
  return failures;
}

/** True for errors that mean "already gone" when deleting. */
export function isNotFound(f: BatchFailure): boolean {
  return /No such process|No such file or directory|Cannot find device|not found/i.test(f.error);
}

// ---------------------------------------------------------------------------------------------------
// readers

/** All links with details (`ip -j -d link show`). */
export function listLinks(target?: KernelTarget): Promise<IpLink[]> {
  return ipJson<IpLink[]>(['-d', 'link', 'show'], target);
}

/** Links of one kind with details (`ip -j -d link show type vxlan`). */
export function listLinksOfType(kind: string, target?: KernelTarget): Promise<IpLink[]> {
  return ipJson<IpLink[]>(['-d', 'link', 'show', 'type', kind], target);
}

/** One link with details, or undefined when it does not exist. */
export async function getLink(name: string, target?: KernelTarget): Promise<IpLink | undefined> {
  const r = await run(ipArgv(target, ['-j', '-d', 'link', 'show', 'dev', name]));
  if (r.code !== 0) {
    if (/does not exist|Cannot find device/i.test(r.stderr)) return undefined;
    throw new KernelCommandError(`ip link show ${name} failed: ${r.stderr.trim()}`, `ip -j -d link show dev ${name}`, r.code, r.stderr);
  }
  return parseJson<IpLink[]>(r.stdout, 'ip -j -d link show')[0];
}

/** Addresses (`ip -j addr show [dev X]`), IPv4 only when family is '4'. */
export function listAddrs(opts: { dev?: string; family?: '4' | '6' } = {}, target?: KernelTarget): Promise<IpAddr[]> {
  const args = [...(opts.family ? [`-${opts.family}`] : []), 'addr', 'show', ...(opts.dev ? ['dev', opts.dev] : [])];
  return ipJson<IpAddr[]>(args, target);
}

/** Normalises a route dst: "default" → "0.0.0.0/0", "10.1.2.3" → "10.1.2.3/32". */
export function normaliseDst(dst: string): string {
  if (dst === 'default') return '0.0.0.0/0';
  return dst.includes('/') ? dst : `${dst}/32`;
}

/**
 * IPv4 routes of the main table (`ip -4 -j route show table main [filters...]`), dst normalised.
 * Filters are iproute2 selectors, e.g. ['dev', 'flannel.1'] or ['proto', '241'].
 */
export async function listRoutes(filters: readonly string[] = [], target?: KernelTarget): Promise<IpRoute[]> {
  const routes = await ipJson<IpRoute[]>(['-4', 'route', 'show', 'table', 'main', ...filters], target);
  for (const r of routes) {
    r.dst = normaliseDst(r.dst);
    r.flags ??= [];
  }
  return routes;
}

/** IPv4 neighbours (`ip -4 -j neigh show [dev X]`). */
export async function listNeighs(dev?: string, target?: KernelTarget): Promise<IpNeigh[]> {
  const n = await ipJson<IpNeigh[]>(['-4', 'neigh', 'show', ...(dev ? ['dev', dev] : [])], target);
  for (const e of n) e.state ??= [];
  return n;
}

/** Bridge FDB entries (`bridge -j fdb show [dev X]`). */
export async function listFdb(dev?: string, target?: KernelTarget): Promise<FdbEntry[]> {
  const f = await bridgeJson<FdbEntry[]>(['fdb', 'show', ...(dev ? ['dev', dev] : [])], target);
  for (const e of f) e.flags ??= [];
  return f;
}

/**
 * `ip route get` for many addresses in one process (`ip -j -batch -`). Addresses with no route map to
 * an Error instead of failing the whole call.
 */
export async function routeGetMany(ips: readonly string[], target?: KernelTarget): Promise<Map<string, RouteGet | Error>> {
  const out = new Map<string, RouteGet | Error>();
  // iproute2 aborts the whole batch on an unparsable address, so those never reach it
  const bad = ips.filter((ip) => !isIpv4(ip));
  for (const ip of bad) out.set(ip, new Error(`ip route get: "${ip}" is not an IPv4 address`));
  ips = ips.filter((ip) => isIpv4(ip));
  if (ips.length === 0) return out;
  const lines = ips.map((ip) => `route get ${ip}`);
  const r = await run(ipArgv(target, ['-j', '-force', '-batch', '-']), lines.join('\n') + '\n');
  const failures = new Map(parseBatchErrors(r.stderr, lines).map((f) => [f.line, f.error]));
  // one JSON array per successful line, in order
  const answers = r.stdout
    .split('\n')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('['));
  let a = 0;
  ips.forEach((ip, i) => {
    const err = failures.get(i + 1);
    if (err !== undefined) {
      out.set(ip, new Error(`ip route get ${ip}: ${err}`));
      return;
    }
    const text = answers[a++];
    const parsed = text ? (JSON.parse(text) as RouteGet[])[0] : undefined;
    out.set(ip, parsed ?? new Error(`ip route get ${ip}: no answer`));
  });
  return out;
}

/**
 * Whether `ip` is reachable on-link (directly connected, no gateway) — the DirectRouting and host-gw test.
 * flannel: exactly one route and it has no gateway. Local addresses are not "on-link peers".
 */
export function isOnLink(r: RouteGet | Error | undefined): boolean {
  if (!r || r instanceof Error) return false;
  if (r.cache?.includes('local') || r.type === 'local') return false;
  return !r.gateway;
}

/** Dotted-quad IPv4 syntax check (no leading zeros, each octet 0..255): network/ipv4's strict parser. */
export function isIpv4(s: string): boolean {
  return parseIpv4(s) !== undefined;
}

/** Interfaces with their IPv4 addresses and MTU, in kernel index order. */
export async function listIpv4Interfaces(target?: KernelTarget): Promise<Ipv4Interface[]> {
  const addrs = await listAddrs({}, target);
  return addrs.map((a) => ({
    name: a.ifname,
    index: a.ifindex,
    mtu: a.mtu,
    up: a.flags.includes('UP'),
    loopback: a.flags.includes('LOOPBACK'),
    addrs: (a.addr_info ?? []).filter((i) => i.family === 'inet').map((i) => ({ ip: i.local, prefixLen: i.prefixlen })),
  }));
}

/** The interface of the IPv4 default route with the lowest metric, or undefined when there is none. */
export async function defaultRouteInterface(target?: KernelTarget): Promise<{ dev: string; gateway?: string } | undefined> {
  const routes = await listRoutes(['default'], target);
  const best = routes.filter((r) => r.dev).sort((x, y) => (x.metric ?? 0) - (y.metric ?? 0))[0];
  return best?.dev ? { dev: best.dev, ...(best.gateway ? { gateway: best.gateway } : {}) } : undefined;
}
