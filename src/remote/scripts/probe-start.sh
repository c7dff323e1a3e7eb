# Starts verify's probe (phases/shared/ping-matrix.ts probeStartScript) and prints its `probe` and `exec`
# sections (lib.sh fp_probe_*). KIND: docker, podman or netns; the others are what that kind needs (empty
# otherwise): IMAGE for containers, NETWORK for podman, VETH IP PREFIXLEN GATEWAY MTU for netns.
# params: KIND NAME IMAGE NETWORK VETH IP PREFIXLEN GATEWAY MTU
case $KIND in
  docker) fp_probe_docker "$IMAGE" "$NAME" ;;
  podman) fp_probe_podman "$IMAGE" "$NAME" "$NETWORK" ;;
  netns) fp_probe_netns "$NAME" "$VETH" "$IP" "$PREFIXLEN" "$GATEWAY" "$MTU" ;;
  *) echo "unknown probe kind $KIND" >&2; exit 2 ;;
esac
