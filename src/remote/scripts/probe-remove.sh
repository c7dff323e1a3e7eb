# Removes verify's probe (phases/shared/ping-matrix.ts probeRemoveScript, lib.sh fp_probe_remove).
# params: KIND NAME VETH BACKGROUND
fp_probe_remove "$KIND" "$NAME" "$VETH" "$BACKGROUND"
