/**
 * The host side of the continuous measurement: a network namespace per host ("flanprov-measure") wired
 * into the host's flannel subnet like a container, and one iputils ping per peer running in it, writing
 * per-packet lines (-D timestamps, -O for unanswered packets) to /run/flanprov-measure. A namespace rather
 * than a Docker container so that the Docker restart an MTU change needs does not end the measurement.
 * The scripts are src/remote/scripts/measure-*.sh (one SSH round trip each); parsing of their output is in
 * session.ts/ping-log.ts.
 */
import { firstHost, formatIpv4, sizeOf } from '../network/ipv4.js';
import type { Ipv4Net } from '../network/types.js';
import { remoteScript } from '../remote/remote-script.js';

export const MEASURE_NS = 'flanprov-measure';
/** host side of the namespace's veth (≤ 15 chars); the namespace side is renamed eth0 */
export const MEASURE_VETH = 'fpmeas0';
export const MEASURE_DIR = '/run/flanprov-measure';

/**
 * The namespace's address: the third-last address of the subnet (the verify probe takes the second-last,
 * Docker hands out addresses from the bottom), and the subnet's first address as its gateway (docker0's).
 */
export function measureAddress(subnet: Ipv4Net): { ip: string; gateway: string; prefixLen: number } {
  if (subnet.prefixLen > 29) throw new Error(`subnet /${subnet.prefixLen} is too small for a measurement address`);
  return {
    ip: formatIpv4((subnet.ip + sizeOf(subnet.prefixLen) - 3) >>> 0),
    gateway: formatIpv4(firstHost(subnet)),
    prefixLen: subnet.prefixLen,
  };
}

declare module '../remote/remote-script.js' {
  interface RemoteScripts {
    'measure-setup': { NS: string; VETH: string; DIR: string; IP: string; PREFIX_LEN: number; GATEWAY: string };
    'measure-start': { NS: string; DIR: string; INTERVAL: string; MAX_SECONDS: number; TARGET_IDS: readonly string[]; TARGET_IPS: readonly string[] };
    'measure-warmup': { DIR: string; TIMEOUT_S: number; TARGET_IDS: readonly string[] };
    'measure-stop': { NS: string; VETH: string; DIR: string };
    'measure-abort': { NS: string; VETH: string; DIR: string };
  }
}

const PLACE = { NS: MEASURE_NS, VETH: MEASURE_VETH, DIR: MEASURE_DIR };

/** Creates the namespace (replacing a leftover one) and prints `addr` = its eth0 address. */
export function setupScript(subnet: Ipv4Net): string {
  const a = measureAddress(subnet);
  return remoteScript('measure-setup', { ...PLACE, IP: a.ip, PREFIX_LEN: a.prefixLen, GATEWAY: a.gateway });
}

export interface PingerTarget {
  /** file stem on the host: t0, t1, ... (host names stay out of paths) */
  id: string;
  ip: string;
}

/**
 * Starts one pinger per target in the namespace, detached from the SSH session (setsid, nohup), under
 * coreutils `timeout` so it ends by itself if flanprov never comes back. Not ping's own -w: with a
 * deadline, iputils ping exits at the first ICMP error (e.g. a transient "Destination Host Unreachable"
 * during the switch), which would end the measurement exactly when it matters. Records the PID of
 * `timeout`, which passes SIGINT on to ping (ping then prints its statistics).
 */
export function startPingersScript(targets: readonly PingerTarget[], intervalMs: number, maxSeconds: number): string {
  return remoteScript('measure-start', {
    NS: MEASURE_NS, DIR: MEASURE_DIR, INTERVAL: (intervalMs / 1000).toFixed(3), MAX_SECONDS: maxSeconds,
    TARGET_IDS: targets.map((t) => t.id), TARGET_IPS: targets.map((t) => t.ip),
  });
}

/**
 * Waits until every pinger has had a reply (the baseline: the cluster works before anything changes), up
 * to `timeoutS`; prints `silent` = the targets without one.
 */
export function warmupScript(targets: readonly PingerTarget[], timeoutS: number): string {
  return remoteScript('measure-warmup', { DIR: MEASURE_DIR, TIMEOUT_S: timeoutS, TARGET_IDS: targets.map((t) => t.id) });
}

/**
 * Stops the pingers (SIGINT: ping prints its statistics), waits for them, prints each log gzip+base64
 * in a `log <id>` section, then removes the namespace and the directory.
 */
export function stopScript(): string {
  return remoteScript('measure-stop', PLACE);
}

/** Removal only (after a failed start): stops our pingers without collecting anything. */
export function abortScript(): string {
  return remoteScript('measure-abort', PLACE);
}
