# `up --adopt` (phases/up/adopt-agent.ts): the unit files of each of UNITS, the fragment and its drop-ins
# wherever systemd found them, moved aside to <file>.flanprov-bak (kept for the user); not what lives under
# /run (generated, gone at boot) nor flanprov's own drop-in. One line per file moved: its old path.
# params: UNITS[]
for u in "${UNITS[@]}"; do
  f=$(systemctl show -p FragmentPath --value "$u" 2>/dev/null); d=$(systemctl show -p DropInPaths --value "$u" 2>/dev/null)
  # systemd separates the drop-ins by spaces
  read -ra xs <<< "$f $d"
  for x in "${xs[@]}"; do case "$x" in /run/*|*/10-flannel.conf) ;; *) [ -f "$x" ] && mv -f "$x" "$x.flanprov-bak" && echo "$x";; esac; done
done
true
