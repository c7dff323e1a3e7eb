# The teardown script of `down` (phases/down/script.ts): stop and disable the agent, remove everything `up`
# installed and the kernel state flannel leaves behind (devices, routes inside the Network, its iptables
# chains and the rules that jump to them); on cni hosts also the plugin's files and cni0. One `removed`
# line for each thing removed; a `docker0` section with docker0's address at the end.
# params: AGENT_PATH NETWORK DOCKER DOCKER_DROPIN DOCKER_KV CNI CNI_LINK CNI_STATE_DIR CNI_STORE CNI_RESULTS CNI_BRIDGE FILES[] DIRS[]
# DOCKER=1: restart Docker on its default bridge when flanprov configured it (DOCKER_KV: its network store);
# CNI=1: a cni host (CNI_STORE: host-local's addresses of the network, CNI_RESULTS: the runtimes' cached
# results, a glob prefix); FILES: removed when present; DIRS: removed when empty.
export LC_ALL=C
say() { echo "removed $*"; }

down_cni() {
  local l=$CNI_LINK n p f
  if [ -L "$l" ] && [ "$(readlink "$l")" = "$AGENT_PATH" ]; then rm -f "$l" && say "$l (the CNI plugin link)"; fi
  if [ -d "$CNI_STATE_DIR" ]; then
    n=$(find "$CNI_STATE_DIR" -mindepth 1 -maxdepth 1 | wc -l)
    rm -rf "$CNI_STATE_DIR" && say "$CNI_STATE_DIR (the CNI plugin's state, $n container(s))"
  fi
  if [ -d "$CNI_STORE" ]; then rm -rf "$CNI_STORE" && say "$CNI_STORE (host-local's addresses)"; fi
  for f in "$CNI_RESULTS"-*; do [ -e "$f" ] && rm -f "$f" && say "$f (a runtime's cached CNI result)"; done
  rmdir "${l%/*}" 2>/dev/null
  if [ -d "/sys/class/net/$CNI_BRIDGE" ]; then
    # the veths of containers still running go too (their other end, the container's interface, with them)
    n=0
    for p in $(ip -o link show master "$CNI_BRIDGE" | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do ip link del "$p" && n=$((n + 1)); done
    if ip link del "$CNI_BRIDGE"; then
      if [ "$n" -gt 0 ]; then say "device $CNI_BRIDGE and the veths of $n container(s) still on it (those containers have no network now)"; else say "device $CNI_BRIDGE"; fi
    fi
  fi
  return 0
}

# dockerd reuses the default bridge's old subnet (kept in docker0 and in its network store) when no --bip
# is given: drop both so it is recreated on 172.17.0.1/16. The store also holds user-defined networks, so
# it is only removed when there are none (else docker0 keeps the flannel subnet, and we say so).
down_docker() {
  local p custom
  p=$(systemctl show -p MainPID --value docker.service 2>/dev/null)
  if [ "$dropin" = yes ] || { [ -n "$p" ] && [ "$p" != 0 ] && tr '\0' ' ' < "/proc/$p/cmdline" | grep -q -- '--bip'; }; then
    custom=$(docker network ls -q --filter type=custom 2>/dev/null | wc -l)
    systemctl stop docker.service docker.socket
    ip link del docker0 2>/dev/null
    if [ "$custom" = 0 ]; then rm -f "$DOCKER_KV"; else echo "note: user-defined Docker networks exist: docker0 keeps its flannel subnet until Docker's network store is reset"; fi
    systemctl reset-failed docker.service 2>/dev/null
    systemctl start docker.service && say "docker restarted on its default bridge"
  fi
  return 0
}

if systemctl is-active -q flanneld.service 2>/dev/null || systemctl is-enabled -q flanneld.service 2>/dev/null; then
  systemctl disable --now -q flanneld.service 2>/dev/null && say "flanneld.service (stopped, disabled)"
fi
systemctl reset-failed flanneld.service 2>/dev/null
dropin=no
for f in "${FILES[@]}"; do
  if [ -e "$f" ]; then rm -f "$f" && say "$f"; [ "$f" = "$DOCKER_DROPIN" ] && dropin=yes; fi
done
rmdir "${DIRS[@]}" 2>/dev/null
systemctl daemon-reload
# after the files, before the routes: cni0's own route goes with it
if [ "$CNI" = 1 ]; then down_cni; fi
# flannel devices (vxlan flannel.<VNI>, flannel-v6.<VNI>, legacy flannel0 / flannel.ipip / flannel-wg)
for d in $(ip -o link show | awk -F': ' '{print $2}' | cut -d@ -f1 | grep -E '^flannel([.-]|0$)'); do
  ip link del "$d" && say "device $d"
done
# routes inside the Network (host-gw routes, leftovers), except Docker's own bridge route (goes with Docker)
ip -4 -o route show root "$NETWORK" | while read -r dst rest; do
  case "$rest" in *"dev docker0"*) continue;; esac
  # shellcheck disable=SC2086 # $rest is the rest of the route as `ip` printed it: one word per argument
  ip route del "$dst" $rest 2>/dev/null && say "route $dst $rest"
done
# iptables: jump rules first, then the chains
for spec in "nat POSTROUTING FLANNEL-POSTRTG" "filter FORWARD FLANNEL-FWD"; do
  # shellcheck disable=SC2086 # table, chain and flannel's chain, split into $1 $2 $3
  set -- $spec
  iptables -t "$1" -S "$2" 2>/dev/null | grep -- "-j $3\( \|$\)" | sed 's/^-A /-D /' | while read -r rule; do
    # eval: a rule as `iptables -S` prints it is quoted for the shell (comments with spaces)
    eval "iptables -t $1 $rule" && say "iptables -t $1 rule: $rule"
  done
  if iptables -t "$1" -S "$3" >/dev/null 2>&1; then
    iptables -t "$1" -F "$3" && iptables -t "$1" -X "$3" && say "iptables -t $1 chain $3"
  fi
done
if [ "$DOCKER" = 1 ]; then down_docker; fi
sec docker0
ip -j -4 addr show dev docker0 2>/dev/null
true
