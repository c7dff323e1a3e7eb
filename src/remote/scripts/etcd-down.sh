# `down --etcd` on a member (phases/etcd/down.ts): etcd.service stopped and disabled, FILES removed (the
# member's files, a pushed binary), the binary's sha256 caches (SHA_CACHE.*), the emptied PKI and conf
# directories, a daemon-reload. PURGE=1 also deletes DATA_DIR and the data dirs set aside beside it
# (DATA_DIR<SET_ASIDE_SUFFIX>*); else a kept data dir is named. One `removed` or `kept` line for each.
# params: FILES[] SHA_CACHE PKI_DIR CONF_DIR DATA_DIR SET_ASIDE_SUFFIX PURGE
say() { echo "removed $*"; }
if systemctl is-active -q etcd.service 2>/dev/null || systemctl is-enabled -q etcd.service 2>/dev/null; then
  systemctl disable --now -q etcd.service 2>/dev/null && say "etcd.service (stopped, disabled)"
fi
systemctl reset-failed etcd.service 2>/dev/null
for f in "${FILES[@]}" "$SHA_CACHE".*; do [ -e "$f" ] && rm -f "$f" && say "$f"; done
rmdir "$PKI_DIR" "$CONF_DIR" 2>/dev/null
systemctl daemon-reload
if [ "$PURGE" = 1 ]; then
  for x in "$DATA_DIR" "$DATA_DIR$SET_ASIDE_SUFFIX"*; do [ -e "$x" ] && rm -rf "$x" && say "$x (data, --purge)"; done
else
  [ -d "$DATA_DIR" ] && echo "kept $DATA_DIR (etcd's data; \`down --etcd --purge\` deletes it)"
fi
true
