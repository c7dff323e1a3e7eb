# A host serving the agent to its peers (remote/serve.ts): `flanneld serve-file` (ARGV) (re)started as the
# transient service UNIT, bounded to MAX_S seconds; systemd-run returns once it listens (Type=notify).
# When it does not, systemd's account and the journal's last lines go to stderr and the exit is
# FAILED_EXIT (the agent itself is installed: the caller tells the two apart).
# params: UNIT MAX_S FAILED_EXIT ARGV[]
systemctl stop "$UNIT" 2>/dev/null; systemctl reset-failed "$UNIT" 2>/dev/null
if ! out=$(systemd-run --quiet --collect --unit="$UNIT" -p Type=notify -p NotifyAccess=all -p RuntimeMaxSec="$MAX_S" -- "${ARGV[@]}" 2>&1); then
  echo "cannot serve the agent to peers: $out $(journalctl -u "$UNIT" -n 3 -o cat 2>/dev/null | tr '\n' ' ')" >&2; exit "$FAILED_EXIT"
fi
