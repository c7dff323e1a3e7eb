# The per-host lock (remote/host-lock.ts), run as root in an open session: flock FLAG (-x exclusive, -s
# shared) on DIR/lock, without waiting. First line: `locked`, or `busy` followed by `holder <line>` for
# each live holder, or `error <why>`. While locked it reads heartbeat lines on stdin; EOF (the channel
# closed) or GRACE seconds of silence end it, and the kernel drops the lock with the process.
# params: DIR FLAG HOLDER GRACE
d=$DIR
if ! { mkdir -p "$d" && chmod 0700 "$d"; }; then echo "error cannot create $d"; exit 0; fi
command -v flock >/dev/null || { echo "error flock is not installed (package util-linux)"; exit 0; }
exec 9>>"$d/lock"
if flock -n "$FLAG" 9; then
  me="$d/holder.$$"
  printf '%s\n' "$HOLDER" > "$me"
  trap 'rm -f "$me"' EXIT
  echo locked
  while IFS= read -r -t "$GRACE" _; do :; done
  exit 0
fi
echo busy
# holders that died without their EXIT trap (SIGKILL) left a file: only live ones are named
for f in "$d"/holder.*; do [ -e "$f" ] || continue; kill -0 "${f##*.}" 2>/dev/null && printf "holder %s\n" "$(cat "$f")"; done
true
