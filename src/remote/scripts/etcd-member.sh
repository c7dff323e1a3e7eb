# etcd.service on a managed member (phases/etcd/start.ts), one round trip each:
#   ACTION=start|restart: set the data dir aside (SET_ASIDE=1), daemon-reload (DAEMON_RELOAD=1), enable
#     the unit, reset its failed state, print `restarts=N` (NRestarts before the start, for a wait in a
#     later round trip), start it without blocking, then (WAIT=1) wait until it is active;
#   ACTION=wait: only the wait, with R0 the NRestarts printed by the start;
#   ACTION=remove: a member no longer in the cluster: stopped, disabled, its data dir set aside, its FILES
#     removed;
#   ACTION=enable: only enabled (a member that runs but was not enabled).
# The wait ends when systemd says active (Type=notify: etcd is serving as a member); a failed unit, a
# restart (NRestarts changed) or TIMEOUT seconds print the journal's tail to stderr and exit 3.
# params: ACTION SET_ASIDE DAEMON_RELOAD WAIT R0 AFTER TIMEOUT DATA_DIR SET_ASIDE_SUFFIX FILES[]
# AFTER: what the wait follows, for the message ("start", "its bootstrap").
set -e

# never deleted: moved to DATA_DIR<suffix><time>
member_set_aside() {
  if [ -e "$DATA_DIR" ]; then mv "$DATA_DIR" "$DATA_DIR$SET_ASIDE_SUFFIX$(date +%Y%m%dT%H%M%S)"; echo "set aside $DATA_DIR"; fi
}

member_wait_active() {
  local end=$((SECONDS + TIMEOUT)) s=unknown
  while [ "$SECONDS" -lt "$end" ]; do
    s=$(systemctl is-active etcd.service || true)
    [ "$s" = active ] && break
    [ "$s" = failed ] && break
    [ "$(systemctl show -p NRestarts --value etcd.service)" != "$r0" ] && { s=restarting; break; }
    sleep 0.1
  done
  if [ "$s" != active ]; then
    echo "etcd.service is $s after $AFTER:" >&2
    journalctl -u etcd.service -n 15 --no-pager -o cat >&2 || true
    exit 3
  fi
}

case "$ACTION" in
  start|restart)
    if [ "$SET_ASIDE" = 1 ]; then member_set_aside; fi
    if [ "$DAEMON_RELOAD" = 1 ]; then systemctl daemon-reload; fi
    systemctl enable -q etcd.service
    systemctl reset-failed etcd.service 2>/dev/null || true
    r0=$(systemctl show -p NRestarts --value etcd.service)
    echo "restarts=$r0"
    systemctl "$ACTION" --no-block etcd.service
    if [ "$WAIT" = 1 ]; then member_wait_active; fi
    ;;
  wait)
    r0=$R0
    member_wait_active
    ;;
  remove)
    set +e # each step on its own: what is left is swept by the next run
    systemctl disable --now -q etcd.service 2>/dev/null || true
    member_set_aside
    rm -f "${FILES[@]}"
    systemctl daemon-reload
    ;;
  enable)
    systemctl enable -q etcd.service
    ;;
  *) echo "etcd-member.sh: unknown ACTION $ACTION" >&2; exit 2 ;;
esac
