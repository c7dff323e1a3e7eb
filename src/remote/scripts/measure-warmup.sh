# Waits until every pinger in DIR (one per TARGET_IDS) has had a reply, up to TIMEOUT_S seconds; prints a
# `silent` section: the ids without one, space-separated.
# params: DIR TIMEOUT_S TARGET_IDS[]
cd "$DIR" || exit 3
end=$((SECONDS + TIMEOUT_S))
while :; do
  silent=()
  for id in "${TARGET_IDS[@]}"; do grep -q 'bytes from' "$id.log" 2>/dev/null || silent+=("$id"); done
  ((${#silent[@]} == 0)) && break
  [ "$SECONDS" -ge "$end" ] && break
  sleep 0.1
done
sec silent; echo "${silent[*]}"
