/**
 * The host side of the continuous measurement: a network namespace per host ("flanprov-measure") wired
 * into the host's flannel subnet like a container, and one iputils ping per peer running in it, writing
 * per-packet lines (-D timestamps, -O for unanswered packets) to /run/flanprov-measure. A namespace rather
 * than a Docker container so that the Docker restart an MTU change needs does not end the measurement.
 * The scripts are strings (one SSH round trip each); parsing of their output is in session.ts/ping-log.ts.
 */
import { firstHost, formatIpv4, sizeOf } from '../network/ipv4.js';
import type { Ipv4Net } from '../network/types.js';
import { SEC_FN, shq } from '../remote/sections.js';

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

/** Creates the namespace (replacing a leftover one) and prints `addr` = its eth0 address. */
export function setupScript(subnet: Ipv4Net): string {
  const a = measureAddress(subnet);
  return `${SEC_FN}
set -e
${cleanupLines()}
mkdir -p ${MEASURE_DIR}
ip netns add ${MEASURE_NS}
ip link add ${MEASURE_VETH} type veth peer name fpmeas1
ip link set fpmeas1 netns ${MEASURE_NS}
ip -n ${MEASURE_NS} link set fpmeas1 name eth0
ip -n ${MEASURE_NS} link set lo up
ip -n ${MEASURE_NS} link set eth0 up
ip -n ${MEASURE_NS} addr add ${a.ip}/${a.prefixLen} dev eth0
ip link set ${MEASURE_VETH} up
ip addr add ${a.gateway}/32 dev ${MEASURE_VETH}
ip route replace ${a.ip}/32 dev ${MEASURE_VETH}
ip -n ${MEASURE_NS} route add ${a.gateway}/32 dev eth0
ip -n ${MEASURE_NS} route add default via ${a.gateway} dev eth0
sysctl -qw net.ipv4.ip_forward=1
sec addr; ip -n ${MEASURE_NS} -j -4 addr show eth0
`;
}

/** Everything the measurement leaves on a host, removed (pingers must already be stopped). */
function cleanupLines(): string {
  return `ip netns del ${MEASURE_NS} 2>/dev/null || true
ip link del ${MEASURE_VETH} 2>/dev/null || true
rm -rf ${MEASURE_DIR}`;
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
  const i = (intervalMs / 1000).toFixed(3);
  const lines = targets.map((t) =>
    `setsid nohup ip netns exec ${MEASURE_NS} timeout -s INT ${maxSeconds} ping -n -D -O -i ${i} -W 1 ${shq(t.ip)} > ${MEASURE_DIR}/${t.id}.log 2>&1 < /dev/null &\necho $! > ${MEASURE_DIR}/${t.id}.pid`);
  return `set -e\nexport LC_ALL=C\ncd ${MEASURE_DIR}\n${lines.join('\n')}\n`;
}

/**
 * Waits until every pinger has had a reply (the baseline: the cluster works before anything changes), up
 * to `timeoutS`; prints `silent` = the targets without one.
 */
export function warmupScript(targets: readonly PingerTarget[], timeoutS: number): string {
  const ids = targets.map((t) => t.id).join(' ');
  return `${SEC_FN}
cd ${MEASURE_DIR} || exit 3
end=$((SECONDS + ${timeoutS}))
while :; do
  silent=
  for id in ${ids}; do grep -q 'bytes from' "$id.log" 2>/dev/null || silent="$silent $id"; done
  [ -z "$silent" ] && break
  [ $SECONDS -ge $end ] && break
  sleep 0.1
done
sec silent; echo $silent
`;
}

/** The PIDs we recorded, only while they are still our pingers (a PID may have been reused). */
const OUR_PINGS = `ours() { for f in ${MEASURE_DIR}/*.pid; do [ -f "$f" ] || continue; p=$(cat "$f"); tr '\\0' ' ' < /proc/$p/cmdline 2>/dev/null | grep -q '^timeout -s INT [0-9]* ping -n -D' && echo "$p"; done; }`;

/**
 * Stops the pingers (SIGINT: ping prints its statistics), waits for them, prints each log gzip+base64
 * in a `log <id>` section, then removes the namespace and the directory.
 */
export function stopScript(): string {
  return `${SEC_FN}
${OUR_PINGS}
pids=$(ours)
[ -n "$pids" ] && kill -INT $pids 2>/dev/null
for _ in $(seq 1 60); do [ -z "$(ours)" ] && break; sleep 0.05; done
for p in $(ours); do kill -KILL -- -"$p" 2>/dev/null; done  # the process group: timeout and its ping
for f in ${MEASURE_DIR}/*.log; do
  [ -f "$f" ] || continue
  id=$(basename "$f" .log)
  sec log "$id"; gzip -1c < "$f" | base64 -w0; echo
done
${cleanupLines()}
true
`;
}

/** Removal only (after a failed start): stops our pingers without collecting anything. */
export function abortScript(): string {
  return `${OUR_PINGS}
for p in $(ours); do kill -KILL -- -"$p" 2>/dev/null; done
${cleanupLines()}
true
`;
}
