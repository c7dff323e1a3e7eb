# Stops the measurement's pingers (SIGINT: ping prints its statistics), waits for them, prints each log
# gzip+base64 in a `log ID` section, then removes the namespace NS, the veth VETH and DIR.
# params: NS VETH DIR
mapfile -t pids < <(fp_measure_pingers "$DIR")
((${#pids[@]})) && kill -INT "${pids[@]}" 2>/dev/null
for _ in $(seq 1 60); do [ -z "$(fp_measure_pingers "$DIR")" ] && break; sleep 0.05; done
for p in $(fp_measure_pingers "$DIR"); do kill -KILL -- -"$p" 2>/dev/null; done  # the process group: timeout and its ping
for f in "$DIR"/*.log; do
  [ -f "$f" ] || continue
  id=$(basename "$f" .log)
  sec log "$id"; gzip -1c < "$f" | base64 -w0; echo
done
fp_measure_cleanup "$NS" "$VETH" "$DIR"
true
