# A host downloading a file into place (remote/fetch.ts): flannel_agent_source url (a mirror) and peers
# (another host's `flanneld serve-file`). The body of URL, bounded to TIMEOUT seconds, goes through
# fp_receive (decoded as ENCODING, kept at KEEP_AT too when set, checked for BYTES and SHA256, renamed
# over TARGET through TMP with MODE and OWNER): a failed, short or other download leaves the old file.
# The fetcher is whatever the host has: curl, else wget, else bash's /dev/tcp (http:// only, nothing to
# install: minimal Debian has neither curl nor wget). PROXY: a proxy URL, `direct` (peers, on the hosts'
# own network: every proxy setting ignored), or empty: the host's own http_proxy/https_proxy/no_proxy,
# also read from /etc/environment (sudo and non-login SSH sessions drop them).
# CONNECT_TIMEOUT (seconds; 0: none): the server must accept a TCP connection that soon (peers: a firewall
# that drops the SYNs fails the copy in seconds instead of the kernel's ~2 min of retries, and the host is
# pushed to instead); only for a direct fetch (PROXY=direct).
# params: URL PROXY TIMEOUT CONNECT_TIMEOUT TARGET TMP BYTES SHA256 MODE OWNER ENCODING KEEP_AT
fp_proxy_env() { # $1: proxy URL, "direct", or empty (the host's settings)
  if [ "$1" = direct ]; then unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY; export no_proxy='*' NO_PROXY='*'; return; fi
  if [ -n "$1" ]; then export http_proxy="$1" https_proxy="$1" HTTP_PROXY="$1" HTTPS_PROXY="$1"; return; fi
  local env_file=${FLANPROV_FAKE_ROOT:-}/etc/environment
  if [ -z "$http_proxy$https_proxy$HTTP_PROXY$HTTPS_PROXY" ] && [ -r "$env_file" ]; then
    local k v
    while IFS='=' read -r k v; do
      v=${v%\"}; v=${v#\"}; v=${v%\'}; v=${v#\'}
      case $k in http_proxy|https_proxy|no_proxy|HTTP_PROXY|HTTPS_PROXY|NO_PROXY) export "$k=$v";; esac
    done < "$env_file"
  fi
  : "${http_proxy:=$HTTP_PROXY}" "${https_proxy:=$HTTPS_PROXY}" "${no_proxy:=$NO_PROXY}"
  export http_proxy https_proxy no_proxy
}
fp_no_proxy_for() { # $1: host; status 0 when no_proxy exempts it
  local e IFS=,
  for e in $no_proxy; do
    e=${e// /}; e=${e#.}
    [ -n "$e" ] || continue
    [ "$e" = '*' ] || [ "$1" = "$e" ] || [[ $1 == *."$e" ]] && return 0
  done
  return 1
}
fp_devtcp_get() { # $1: http:// URL, through $http_proxy unless no_proxy exempts the host
  local rest=${1#http://} hostport path host port via req status line code length=
  hostport=${rest%%/*}; path=${rest#"$hostport"}; path=/${path#/}
  host=${hostport%:*}; port=80; [ "$hostport" != "$host" ] && port=${hostport##*:}
  via=$host:$port; req=$path
  if [ -n "$http_proxy" ] && ! fp_no_proxy_for "$host"; then
    via=${http_proxy#*://}; via=${via%%/*}; via=${via##*@}; [ "${via%:*}" = "$via" ] && via=$via:80
    req=http://$hostport$path
  fi
  exec 3<>"/dev/tcp/${via%:*}/${via##*:}" || { echo "flanprov: cannot connect to ${via} for $1" >&2; return 7; }
  printf 'GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: flanprov\r\nConnection: close\r\n\r\n' "$req" "$hostport" >&3
  IFS= read -r -t 30 status <&3 || { echo "flanprov: no answer from ${via} for $1" >&2; return 7; }
  status=${status%$'\r'}; code=${status#* }; code=${code%% *}
  while IFS= read -r -t 30 line <&3 && line=${line%$'\r'} && [ -n "$line" ]; do
    case ${line,,} in content-length:*) length=${line#*:}; length=${length// /};; esac
  done
  [ "$code" = 200 ] || { echo "flanprov: GET $1: ${status:-no status line}" >&2; return 22; }
  # the body: Content-Length bytes (a keep-alive server need not close), else until the server closes
  if [ -n "$length" ]; then head -c "$length" <&3; else cat <&3; fi
}
# fp_fetch URL: the body of URL on stdout (status 0 only for a whole 200 answer), with curl, wget or /dev/tcp
fp_fetch() {
  if command -v curl >/dev/null; then curl -fsSL --connect-timeout 15 --retry 1 --retry-delay 1 -A flanprov "$1" || { echo "flanprov: curl GET $1 failed (exit $?)" >&2; return 22; }
  elif command -v wget >/dev/null; then
    # GNU wget retries 20 times 10 s apart by default; busybox wget knows only -q -O -U -Y (the whole
    # download is bounded by timeout(1) anyway)
    local more=() host=${1#*://}; host=${host%%/*}; host=${host%:*}
    # (told apart without grep: a host, or a test's PATH, may lack it; left at 20 tries a cut body
    # would hang until timeout(1))
    [[ $(wget --version 2>/dev/null) == 'GNU Wget'* ]] && more=(-T 30 -t 2 --waitretry=1)
    # busybox wget ignores no_proxy: decide here, -Y off is understood by both
    fp_no_proxy_for "$host" && more+=(-Y off)
    wget -q -O - "${more[@]}" -U flanprov "$1" || { echo "flanprov: wget GET $1 failed (exit $?)" >&2; return 22; }
  elif [ "${1#http://}" != "$1" ]; then fp_devtcp_get "$1"
  else echo "flanprov: $1 needs curl or wget on the host (neither is installed; bash fetches only http://)" >&2; return 22
  fi
}
fp_connect_check() { # $1: http(s):// URL, $2: seconds; status 0 when its host:port accepts a connection in time
  local scheme=${1%%://*} hp=${1#*://} host port
  hp=${hp%%/*}; host=${hp%:*}; port=80; [ "$scheme" = https ] && port=443
  [ "$hp" != "$host" ] && port=${hp##*:}
  # shellcheck disable=SC2016 # the inner bash expands $0 and $1: host and port go in as arguments, not code
  timeout "$2" bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null && return 0
  echo "flanprov: cannot connect to $host:$port within $2 s for $1" >&2
  return 7
}
# the download runs in a bash of its own under timeout(1): it gets the functions through the environment
export -f fp_no_proxy_for fp_devtcp_get fp_fetch

fp_proxy_env "$PROXY"
if [ "$CONNECT_TIMEOUT" -gt 0 ] && [ "$PROXY" = direct ]; then fp_connect_check "$URL" "$CONNECT_TIMEOUT" || exit 7; fi
# shellcheck disable=SC2016 # the inner bash expands $1: the URL goes in as an argument, not code
fp_receive "$TARGET" "$TMP" "$BYTES" "$SHA256" "$MODE" "$OWNER" "$ENCODING" "$KEEP_AT" timeout "$TIMEOUT" bash -c 'fp_fetch "$1"' fp_fetch "$URL"
