/**
 * The teardown script run on each host by `down`: stop and disable the agent, remove everything `up`
 * installed, and every piece of kernel state flannel leaves behind (it deliberately tears nothing down on
 * exit): flannel devices, routes inside the Network, the FLANNEL-POSTRTG / FLANNEL-FWD chains and the rules
 * that jump to them, subnet.env; on `flannel_runtime: cni` hosts also the conflist, the plugin link (only
 * when it points to our agent), the plugin's state, host-local's addresses and the runtimes' cached
 * results for the network, and the cni0 bridge. Prints what it removed, one `removed` line each.
 */
import { RemotePaths } from '../../inventory/types.js';
import { formatNet } from '../../network/ipv4.js';
import type { Ipv4Net } from '../../network/types.js';
import { shq } from '../../remote/sections.js';
import { AGENT_SHA_CACHE, MANAGED_FILES } from '../shared/facts.js';
import { CNI_BRIDGE, CNI_HOST_LOCAL_DIR, CNI_RESULTS_DIR, CNI_STATE_DIR } from '../../network/cni.js';

export interface DownScriptInput {
  agentPath: string;
  network: Ipv4Net;
  /** restart Docker so it is back on its default bridge */
  docker: boolean;
  /** a `cni` host: its plugin link and network name */
  cni?: { link: string; network: string };
}

/** The CNI part (runs after the files are gone, before the routes: cni0's own route goes with it). */
export function cniTeardown(c: { link: string; network: string }, agentPath: string): string {
  const store = shq(`${CNI_HOST_LOCAL_DIR}/${c.network}`);
  return `l=${shq(c.link)}
if [ -L "$l" ] && [ "$(readlink "$l")" = ${shq(agentPath)} ]; then rm -f "$l" && say "$l (the CNI plugin link)"; fi
if [ -d ${CNI_STATE_DIR} ]; then n=$(ls ${CNI_STATE_DIR} | wc -l); rm -rf ${CNI_STATE_DIR} && say "${CNI_STATE_DIR} (the CNI plugin's state, $n container(s))"; fi
if [ -d ${store} ]; then rm -rf ${store} && say ${store}" (host-local's addresses)"; fi
for f in ${CNI_RESULTS_DIR}/${shq(c.network)}-*; do [ -e "$f" ] && rm -f "$f" && say "$f (a runtime's cached CNI result)"; done
rmdir "\${l%/*}" 2>/dev/null
if [ -d /sys/class/net/${CNI_BRIDGE} ]; then
  # the veths of containers still running go too (their other end, the container's interface, with them)
  n=0; for p in $(ip -o link show master ${CNI_BRIDGE} | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do ip link del "$p" && n=$((n + 1)); done
  ip link del ${CNI_BRIDGE} && if [ "$n" -gt 0 ]; then say "device ${CNI_BRIDGE} and the veths of $n container(s) still on it (those containers have no network now)"; else say "device ${CNI_BRIDGE}"; fi
fi
`;
}

export function downScript(inp: DownScriptInput): string {
  const files = [...MANAGED_FILES, ...(inp.cni ? [RemotePaths.cniConflist] : []), RemotePaths.subnetEnv, inp.agentPath, AGENT_SHA_CACHE];
  const net = formatNet(inp.network);
  return `export LC_ALL=C
say() { echo "removed $*"; }
if systemctl is-active -q flanneld.service 2>/dev/null || systemctl is-enabled -q flanneld.service 2>/dev/null; then
  systemctl disable --now -q flanneld.service 2>/dev/null && say "flanneld.service (stopped, disabled)"
fi
systemctl reset-failed flanneld.service 2>/dev/null
dropin=no
for f in ${files.map(shq).join(' ')}; do
  if [ -e "$f" ]; then rm -f "$f" && say "$f"; [ "$f" = ${shq(RemotePaths.dockerDropIn)} ] && dropin=yes; fi
done
rmdir /etc/flannel /run/flannel /etc/systemd/system/docker.service.d 2>/dev/null
systemctl daemon-reload
${inp.cni ? cniTeardown(inp.cni, inp.agentPath) : ''}# flannel devices (vxlan flannel.<VNI>, flannel-v6.<VNI>, legacy flannel0 / flannel.ipip / flannel-wg)
for d in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E '^flannel([.-]|0$)'); do
  ip link del "$d" && say "device $d"
done
# routes inside the Network (host-gw routes, leftovers), except Docker's own bridge route (goes with Docker)
ip -4 -o route show root ${shq(net)} | while read -r dst rest; do
  case "$rest" in *"dev docker0"*) continue;; esac
  ip route del "$dst" $rest 2>/dev/null && say "route $dst $rest"
done
# iptables: jump rules first, then the chains
for spec in "nat POSTROUTING FLANNEL-POSTRTG" "filter FORWARD FLANNEL-FWD"; do
  set -- $spec
  iptables -t "$1" -S "$2" 2>/dev/null | grep -- "-j $3\\( \\|$\\)" | sed 's/^-A /-D /' | while read -r rule; do
    eval "iptables -t $1 $rule" && say "iptables -t $1 rule: $rule"
  done
  if iptables -t "$1" -S "$3" >/dev/null 2>&1; then
    iptables -t "$1" -F "$3" && iptables -t "$1" -X "$3" && say "iptables -t $1 chain $3"
  fi
done
${inp.docker ? `p=$(systemctl show -p MainPID --value docker.service 2>/dev/null)
if [ "$dropin" = yes ] || { [ -n "$p" ] && [ "$p" != 0 ] && tr '\\0' ' ' < /proc/$p/cmdline | grep -q -- '--bip'; }; then
  # dockerd reuses the default bridge's old subnet (kept in docker0 and in its network store) when no --bip
  # is given: drop both so it is recreated on 172.17.0.1/16. The store also holds user-defined networks, so
  # it is only removed when there are none (else docker0 keeps the flannel subnet, and we say so).
  custom=$(docker network ls -q --filter type=custom 2>/dev/null | wc -l)
  systemctl stop docker.service docker.socket
  ip link del docker0 2>/dev/null
  if [ "$custom" = 0 ]; then rm -f /var/lib/docker/network/files/local-kv.db; else echo "note: user-defined Docker networks exist: docker0 keeps its flannel subnet until Docker's network store is reset"; fi
  systemctl reset-failed docker.service 2>/dev/null
  systemctl start docker.service && say "docker restarted on its default bridge"
fi` : ''}
echo "::fp:: docker0"
ip -j -4 addr show dev docker0 2>/dev/null
true
`;
}
