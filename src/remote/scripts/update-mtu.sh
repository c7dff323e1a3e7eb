# The read script of switch-backend's Update MTU (phases/switch/update-mtu.ts): wait until subnet.env
# carries the new MTU (when one is given), print it (section subnet_env) and Docker's state; on a `cni` host
# whose subnet.env says the new MTU, bring its containers to it in place (fp_cni_mtu).
# params: MTU WAIT SUBNET_ENV CNI BRIDGE DATA_DIR SYS_NET
# MTU: the MTU to wait for, WAIT seconds at most (empty: read at once); CNI=1: a cni host (BRIDGE, the
# plugin's DATA_DIR, SYS_NET=/sys/class/net as fp_cni_mtu takes them).
export LC_ALL=C
if [ -n "$MTU" ]; then
  end=$((SECONDS + WAIT))
  while [ "$SECONDS" -lt "$end" ] && ! grep -qx "FLANNEL_MTU=$MTU" "$SUBNET_ENV" 2>/dev/null; do sleep 0.2; done
fi
sec subnet_env; cat "$SUBNET_ENV" 2>/dev/null
fp_docker_state
if [ "$CNI" = 1 ] && grep -qx "FLANNEL_MTU=$MTU" "$SUBNET_ENV" 2>/dev/null; then fp_cni_mtu "$MTU" "$BRIDGE" "$DATA_DIR" "$SYS_NET"; fi
true
