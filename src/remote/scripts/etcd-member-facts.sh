# What a managed etcd's member host holds (phases/etcd/member-facts.ts parseMemberFacts), read-only: the
# etcd binaries (sha256, cached as fp_cached_sha does, and `--version`), the package and apt's candidate,
# the unit, the member's files (sha256, mode, owner; content only of CONTENT_FILE: no key travels back),
# the data dir (its entries and the head of its first WAL), who listens on the etcd ports, the etcd user.
# params: BINS[] SHA_CACHE PACKAGE FILES[] CONTENT_FILE DATA_DIR CLIENT_PORT PEER_PORT ETCD_USER
# SHA_CACHE: the cache file prefix, each binary's index appended (SHA_CACHE.0, .1, …).
export LC_ALL=C
sec uname; uname -m
sec pid1; cat /proc/1/comm 2>/dev/null
for i in "${!BINS[@]}"; do
  b=${BINS[$i]}
  sec etcd_bin "$b"
  if [ -x "$b" ]; then fp_cached_sha "$b" "$SHA_CACHE.$i"; "$b" --version 2>/dev/null | head -1; fi
done
sec etcd_pkg; dpkg-query -W -f='${Status} ${Version}' "$PACKAGE" 2>/dev/null
sec etcd_candidate; command -v apt-cache >/dev/null && apt-cache policy "$PACKAGE" 2>/dev/null | awk '/Candidate:/{print $2}'
sec etcd_unit; systemctl show etcd.service -p LoadState -p ActiveState -p MainPID -p UnitFileState -p ActiveEnterTimestampMonotonic -p NRestarts 2>/dev/null
for f in "${FILES[@]}"; do
  c=0
  [ "$f" = "$CONTENT_FILE" ] && c=1
  fp_file_facts "$f" 1 "$c"
done
sec etcd_data
if [ -d "$DATA_DIR" ]; then
  # shellcheck disable=SC2012 # the first few names, for a message (parseDataDir): odd characters do no harm
  ls -A "$DATA_DIR" | head -5 | tr '\n' ' '
  echo
  # the first WAL file by name (the glob sorts)
  for w in "$DATA_DIR"/member/wal/*.wal; do
    [ -f "$w" ] && { head -c 512 "$w" | base64 -w0; break; }
  done
fi
sec etcd_listen; ss -Hltnp "( sport = :$CLIENT_PORT or sport = :$PEER_PORT )" 2>/dev/null
sec etcd_user; getent passwd "$ETCD_USER" >/dev/null && echo yes
true
