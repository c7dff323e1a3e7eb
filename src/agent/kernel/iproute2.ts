/**
 * iproute2 access: read kernel state as JSON (`ip -j`, `bridge -j`) and apply many changes in one
 * process (`ip -batch -`, `bridge -batch -` on stdin). 1,000 route changes in one batch take ~10 ms,
 * versus ~2 ms per spawned `ip`, which is what makes programming 1,000 peers in well under 1 s possible.
 *
 * Every function takes an optional KernelTarget so tests can aim at a network namespace
 * (`ip -n <ns>` / `bridge -n <ns>`, which is cheaper than `ip netns exec`).
 */
import { BatchFailure, KernelCommandError, KernelTarget, run, runOk } from './exec.js';

export type { KernelTarget } from './exec.js';
// the JSON shapes and the conclusions drawn from them are shared with the CLI (network/iproute2-json.ts)
export * from '../../network/iproute2-json.js';
import { isIpv4, normaliseDst, type FdbEntry, type IpAddr, type IpLink, type IpNeigh, type IpRoute, type Ipv4Interface, type RouteGet } from '../../network/iproute2-json.js';

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
