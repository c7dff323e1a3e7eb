# One row of verify's ping matrix (phases/shared/ping-matrix.ts pingScript): from this host's probe, every
# target HOSTS[i] at IPS[i] at once. 3 don't-fragment pings of SIZE bytes (full MTU, 20 ms apart); only
# when they fail, 3 small pings tell a lost path from an MTU black hole, and the host's own `ip route get`
# (for the diagnosis: on a healthy 10-host cluster that is 90 processes fewer). Each target's result is one
# printf (atomic on the pipe); no helper processes besides the pings.
# params: EXEC SIZE HOSTS[] IPS[] VERDICT PROBE_KIND PROBE_NAME PROBE_VETH
# EXEC: the command prefix that runs a program in the probe's network namespace (parseProbe), word-split.
# VERDICT=1 (run through an open session, verify.ts): after the results, a `ping_end` marker, then one line
# read from stdin: `remove` removes this host's probe (in the background, lib.sh fp_probe_remove) once the
# controller has every host's results, so a clean verify needs no request of its own for the removal.
export LC_ALL=C
read -ra fp_exec <<< "$EXEC"
# the statistics lines of ping -q (or its error), on one line, in $o; its status in $r
pg() { o=$("${fp_exec[@]}" ping -n -q -c 3 -i 0.02 -W 1 "$@" 2>&1); r=$?; o=${o##*statistics ---}; o=${o//$'\n'/ }; o=${o:0:300}; }
pair() {
  local d dr so sr rg
  # do quoted: it is ping's -M argument, not the keyword (shellcheck SC1010)
  pg -M 'do' -s "$SIZE" "$2"; dr=$r; d=$o; rg=
  if [ "$dr" = 0 ]; then sr=0; so=$d; else pg "$2"; sr=$r; so=$o; rg=$(ip -j route get "$2" 2>&1); rg=$'\n::fp:: routeget '"$1"$'\n'"$rg"; fi
  printf '\n::fp:: ping %s\nsmall %s %s\ndf %s %s%s\n' "$1" "$sr" "$so" "$dr" "$d" "$rg"
}
for i in "${!HOSTS[@]}"; do
  pair "${HOSTS[$i]}" "${IPS[$i]}" &
done
wait
if [ "$VERDICT" = 1 ]; then
  sec ping_end
  read -r -t 120 verdict || verdict=
  if [ "$verdict" = remove ]; then fp_probe_remove "$PROBE_KIND" "$PROBE_NAME" "$PROBE_VETH" 1; fi
fi
true
