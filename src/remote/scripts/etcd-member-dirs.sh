# The `etcd` user and its directories on a member (phases/etcd/files.ts), before its files are written
# (the same round trip: the files' write script follows this one). Only what is missing or has the wrong
# mode or owner is changed.
# params: ETCD_USER HOME_DIR CONF_DIR PRIVATE_DIRS[]
# CONF_DIR: /etc/etcd (0755, made when missing);
# PRIVATE_DIRS: 0700, owned by ETCD_USER (the PKI directory, etcd's home).
set -e
getent passwd "$ETCD_USER" >/dev/null || useradd --system --user-group --no-create-home --home-dir "$HOME_DIR" --shell /usr/sbin/nologin "$ETCD_USER"
[ -d "$CONF_DIR" ] || install -d -m 0755 "$CONF_DIR"
for d in "${PRIVATE_DIRS[@]}"; do
  [ "$(stat -c %a:%U "$d" 2>/dev/null)" = "700:$ETCD_USER" ] || install -d -m 0700 -o "$ETCD_USER" -g "$ETCD_USER" "$d"
done
