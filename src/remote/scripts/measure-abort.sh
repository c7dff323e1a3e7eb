# Removal only, after a failed start: kills the measurement's pingers without collecting anything, then
# removes the namespace NS, the veth VETH and DIR.
# params: NS VETH DIR
for p in $(fp_measure_pingers "$DIR"); do kill -KILL -- -"$p" 2>/dev/null; done
fp_measure_cleanup "$NS" "$VETH" "$DIR"
true
