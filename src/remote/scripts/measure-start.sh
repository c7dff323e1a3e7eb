# One pinger per target in the measurement namespace NS (measure/scripts.ts startPingersScript says why
# this way): TARGET_IDS[i] pings TARGET_IPS[i] every INTERVAL seconds, per-packet lines in DIR/ID.log, the
# PID of its `timeout` in DIR/ID.pid; each ends by itself after MAX_SECONDS.
# params: NS DIR INTERVAL MAX_SECONDS TARGET_IDS[] TARGET_IPS[]
set -e
export LC_ALL=C
cd "$DIR"
for i in "${!TARGET_IDS[@]}"; do
  id=${TARGET_IDS[$i]}
  setsid nohup ip netns exec "$NS" timeout -s INT "$MAX_SECONDS" ping -n -D -O -i "$INTERVAL" -W 1 "${TARGET_IPS[$i]}" > "$DIR/$id.log" 2>&1 < /dev/null &
  echo $! > "$DIR/$id.pid"
done
