# The CNI network script of `up` (phases/up/cni-network.ts) on a `flannel_runtime: cni` host: link the agent
# as the flannel plugin, delete a bridge left with an earlier lease's address, bring the containers to
# subnet.env's MTU in place (fp_cni_mtu's `cni_mtu` section).
# params: LINK TARGET RESET_BRIDGE BRIDGE MTU DATA_DIR SYS_NET
# LINK: the plugin link to make (-> TARGET; empty: it is right); RESET_BRIDGE=1: delete BRIDGE; MTU: the
# containers' MTU (empty: leave it); DATA_DIR: the plugin's state; SYS_NET: /sys/class/net.
export LC_ALL=C
set -e
if [ -n "$LINK" ]; then
  d=${LINK%/*}
  d=${d:-/}
  # a symlink renamed over the old one: never a moment without a plugin
  install -d -m 0755 "$d"
  ln -sfn "$TARGET" "$d/.flannel.flanprov-tmp" && mv -Tf "$d/.flannel.flanprov-tmp" "$LINK"
fi
if [ "$RESET_BRIDGE" = 1 ]; then ip link del "$BRIDGE"; fi
set +e
if [ -n "$MTU" ]; then fp_cni_mtu "$MTU" "$BRIDGE" "$DATA_DIR" "$SYS_NET"; fi
true
