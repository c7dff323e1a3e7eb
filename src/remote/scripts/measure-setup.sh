# The measurement namespace NS (measure/scripts.ts): created (replacing a leftover one) and wired into the
# host's flannel subnet like a container: veth VETH on the host, eth0 with IP/PREFIX_LEN inside, GATEWAY
# (docker0's address) as its gateway. Prints an `addr` section: eth0's address as `ip -j`.
# params: NS VETH DIR IP PREFIX_LEN GATEWAY
set -e
fp_measure_cleanup "$NS" "$VETH" "$DIR"
mkdir -p "$DIR"
ip netns add "$NS"
ip link add "$VETH" type veth peer name fpmeas1
ip link set fpmeas1 netns "$NS"
ip -n "$NS" link set fpmeas1 name eth0
ip -n "$NS" link set lo up
ip -n "$NS" link set eth0 up
ip -n "$NS" addr add "$IP/$PREFIX_LEN" dev eth0
ip link set "$VETH" up
ip addr add "$GATEWAY/32" dev "$VETH"
ip route replace "$IP/32" dev "$VETH"
ip -n "$NS" route add "$GATEWAY/32" dev eth0
ip -n "$NS" route add default via "$GATEWAY" dev eth0
sysctl -qw net.ipv4.ip_forward=1
sec addr; ip -n "$NS" -j -4 addr show eth0
