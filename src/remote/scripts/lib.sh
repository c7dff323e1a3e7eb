# lib.sh: the fragments every remote script shares. remote-script.ts sends it in front of each script (one
# round trip, no file on the host), followed by the script's parameters as quoted shell assignments.
# Functions only, nothing runs here: a script pays for what it calls.

# sec NAME [ARG]: the section marker line of src/remote/sections.ts (SECTION_MARKER); the raw output of
# one command follows it.
sec() { printf '\n::fp:: %s\n' "$*"; }

# Paths removed when the script exits (fp_tmpdir adds to it). One EXIT trap for all of them; subshells and
# background jobs do not inherit it, so a section running in the background never removes them early.
fp_cleanup_paths=()
fp_cleanup() {
  if ((${#fp_cleanup_paths[@]})); then rm -rf -- "${fp_cleanup_paths[@]}"; fi
  return 0
}

# fp_tmpdir NAME: a private temporary directory /tmp/flanprov-NAME.XXXXXX in $fp_tmp, removed on exit.
fp_tmpdir() {
  fp_tmp=$(mktemp -d "/tmp/flanprov-$1.XXXXXX") || return 1
  fp_cleanup_paths+=("$fp_tmp")
  trap fp_cleanup EXIT
}

# fp_bg CMD [ARGS...]: runs CMD in the background with its output (stderr dropped) in the next numbered
# file of $fp_tmp; fp_bg_print waits for all of them and prints the files in the order they were started.
# A dozen probes of 10-20 ms each run at once instead of one after another, and never interleave.
# Only these jobs are waited for: a script may keep another background job running past the print.
fp_bg_n=0
fp_bg_pids=()
fp_bg() {
  local f
  printf -v f '%s/s.%03d' "$fp_tmp" "$fp_bg_n"
  fp_bg_n=$((fp_bg_n + 1))
  "$@" > "$f" 2>/dev/null &
  fp_bg_pids+=("$!")
}
fp_bg_print() {
  if ((${#fp_bg_pids[@]})); then wait "${fp_bg_pids[@]}"; fi
  cat "$fp_tmp"/s.* 2>/dev/null
  return 0
}

# fp_prop VAR TEXT KEY: sets VAR to the value of KEY in `systemctl show` output TEXT (KEY=value lines);
# empty, and status 1, when TEXT has no such line. A builtin loop: no process per lookup.
fp_prop() {
  local l
  printf -v "$1" '%s' ''
  while IFS= read -r l; do
    if [ "${l%%=*}" = "$3" ]; then printf -v "$1" '%s' "${l#*=}"; return 0; fi
  done <<< "$2"
  return 1
}

# fp_sha256 FILE: the file's sha256, hex only.
fp_sha256() {
  local h
  h=$(sha256sum < "$1") || return 1
  printf '%s\n' "${h%% *}"
}

# fp_file_facts PATH [OWNER] [CONTENT]: a `file PATH` section, "sha256 mode[:owner] base64-content"
# (parseFileSections). OWNER=1 adds the owning user; CONTENT=0 leaves the content out (a private key need
# not travel back to be compared). Nothing under the marker when there is no such file.
fp_file_facts() {
  local p=$1 fmt=%a content=
  [ "${2:-0}" = 1 ] && fmt=%a:%U
  sec file "$p"
  [ -f "$p" ] || return 0
  [ "${3:-1}" = 1 ] && content=$(base64 -w0 < "$p")
  printf '%s %s %s\n' "$(fp_sha256 "$p")" "$(stat -c "$fmt" "$p")" "$content"
}

# fp_cached_sha FILE CACHE: FILE's sha256 (nothing when there is no such file). Hashing a 99 MB agent
# costs ~0.25 s per host, so the result is kept in CACHE with the file's size, mtime and inode (a push
# renames a new file in: new inode) and reused while they match.
fp_cached_sha() {
  local b=$1 c=$2 st cached h
  [ -f "$b" ] || return 0
  st=$(stat -c '%s %Y %i' "$b")
  cached=$(cat "$c" 2>/dev/null)
  if [ -n "$cached" ] && [ "${cached#* }" = "$st" ]; then
    echo "${cached%% *}"
  else
    h=$(fp_sha256 "$b")
    mkdir -p "${c%/*}" && echo "$h $st" > "$c"
    echo "$h"
  fi
}

# fp_agent_status PORT: GET /status from the agent on 127.0.0.1:PORT over bash's /dev/tcp, body only.
# Builtins only (read -t bounds a hung agent; a port nobody listens on is refused at once): this runs on
# every host in every run, where `timeout`, a second bash and `sed` were three processes.
fp_agent_status() {
  (
    exec 3<>"/dev/tcp/127.0.0.1/$1" &&
      printf 'GET /status HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3 && {
      while IFS= read -r -t 2 l <&3 && [ -n "${l%$'\r'}" ]; do :; done
      b=
      while IFS= read -r -t 2 l <&3 || { [ -n "$l" ] && b+=$l; false; }; do b+=$l$'\n'; done
      printf '%s' "$b"
    }
  ) 2>/dev/null
}

# fp_tcp_probe HOST PORT SECONDS: status 0 when a TCP connection to HOST:PORT opens within SECONDS.
fp_tcp_probe() {
  # shellcheck disable=SC2016 # the inner bash expands $0/$1: host and port go in as arguments, not code
  timeout "$3" bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$1" "$2" 2>/dev/null
}

# fp_flanneld_procs: one line per process whose command line mentions flanneld or its flags
# (phases/shared/foreign-agent.ts parseFlanneldProcs): pid, systemd unit (from its cgroup; empty: started
# from a shell), executable, argv and the FLANNELD_* environment (both NUL-separated, base64) and that
# unit's MainPID, tab-separated.
# One grep over /proc/*/cmdline; the [f] keeps grep from matching itself.
fp_flanneld_procs() {
  local f d p u m e a v
  # shellcheck disable=SC2013 # grep -l prints paths, one per line, without spaces (/proc/N/cmdline)
  for f in $(grep -lasE -- '[f]lanneld|-[e]tcd-prefix|-[e]tcd-endpoints|-[s]ubnet-file' /proc/[0-9]*/cmdline); do
    d=${f%/cmdline}
    p=${d#/proc/}
    u=$(sed -n 's#.*/\([^/]*\.service\)$#\1#p' "$d/cgroup" 2>/dev/null | head -n1)
    m=
    [ -n "$u" ] && m=$(systemctl show -p MainPID --value "$u" 2>/dev/null)
    e=$(readlink "$d/exe" 2>/dev/null)
    a=$(base64 -w0 < "$f" 2>/dev/null)
    v=$(tr '\0' '\n' < "$d/environ" 2>/dev/null | grep '^FLANNELD_' | tr '\n' '\0' | base64 -w0)
    [ -n "$a" ] && printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$p" "$u" "$e" "$a" "$v" "$m"
  done
  return 0
}

# fp_measure_cleanup NS VETH DIR: everything the measurement (measure/scripts.ts) leaves on a host removed:
# its namespace, the host side of its veth, its directory. Pingers must already be stopped.
fp_measure_cleanup() {
  ip netns del "$1" 2>/dev/null || true
  ip link del "$2" 2>/dev/null || true
  rm -rf -- "$3"
}

# fp_measure_pingers DIR: the PIDs recorded in DIR/*.pid, only while they are still our pingers (a PID may
# have been reused), one a line.
fp_measure_pingers() {
  local f p
  for f in "$1"/*.pid; do
    [ -f "$f" ] || continue
    p=$(cat "$f")
    tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null | grep -q '^timeout -s INT [0-9]* ping -n -D' && echo "$p"
  done
  return 0
}

# fp_docker_net: the default bridge network as the running dockerd has it, "MTU SUBNET GATEWAY" (whichever
# source set it: flags, daemon.json, a file the daemon has not re-read); phases/shared/docker-state.ts
# parseDockerNet reads it. Nothing when Docker does not answer within 3 s.
fp_docker_net() {
  timeout 3 docker network inspect bridge --format '{{index .Options "com.docker.network.driver.mtu"}} {{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}}' 2>/dev/null
}

# fp_docker_state: Docker's running state in sections docker_active, docker0 (ip -j), docker_cmdline (the
# running dockerd's argv) and docker_net (fp_docker_net); docker-state.ts parseDockerState reads them.
fp_docker_state() {
  local p
  sec docker_active; systemctl is-active docker.service 2>/dev/null
  sec docker0; ip -j -4 addr show dev docker0 2>/dev/null
  sec docker_cmdline
  p=$(systemctl show -p MainPID --value docker.service 2>/dev/null)
  [ -n "$p" ] && [ "$p" != 0 ] && tr '\0' ' ' < "/proc/$p/cmdline"
  sec docker_net; fp_docker_net
  return 0
}

# fp_docker_restart: the one way flanprov restarts Docker (its failed state reset first); when that fails,
# its status on stderr and exit 3; else its state (fp_docker_state).
fp_docker_restart() {
  systemctl reset-failed docker.service 2>/dev/null
  systemctl restart docker.service || { systemctl status --no-pager -n 20 docker.service >&2; exit 3; }
  fp_docker_state
}

# fp_cni_mtu MTU BRIDGE DATA_DIR SYS_NET: a `cni_mtu` section, a `cni` host's containers brought to MTU in
# place (phases/shared/cni-mtu.ts parseCniMtu reads it): the bridge, each container's interface (found
# through the plugin's sandbox records DATA_DIR/.sandbox/ID: netns and ifname) and the host side of its
# veth, its stored delegate config, and any other veth on the bridge. Shrinking: bridge and containers
# first (they stop sending what no longer fits), veths last; growing: the other way round. One line per
# thing with its old MTU and "ok" or why not. SYS_NET is /sys/class/net.
fp_cni_mtu() {
  local m=$1 br=$2 dd=$3 sn=$4 brmtu shrink owned=" " f id s ns ifn l old idx veth err p pm
  sec cni_mtu
  [ -d "$sn/$br" ] || { echo "nobridge"; return 0; }
  brmtu=$(cat "$sn/$br/mtu")
  if [ "$m" -lt "$brmtu" ]; then shrink=1; else shrink=0; fi
  [ $shrink = 1 ] && fp_cni_mtu_bridge
  for f in "$dd"/.sandbox/*; do
    [ -f "$f" ] || continue
    id=${f##*/}
    s=$(cat "$f")
    ns=$(sed -n 's/.*"netns":"\([^"]*\)".*/\1/p' <<<"$s")
    ifn=$(sed -n 's/.*"ifname":"\([^"]*\)".*/\1/p' <<<"$s")
    if [ -z "$ns" ] || [ ! -e "$ns" ]; then echo "container $id $ifn - - the network namespace ${ns:-(none recorded)} is gone (the container ended without a CNI DEL)"; continue; fi
    if ! l=$(nsenter --net="$ns" ip -o link show dev "$ifn" 2>&1); then echo "container $id $ifn - - no $ifn in $ns: ${l//$'\n'/ }"; continue; fi
    old=$(sed -n 's/.* mtu \([0-9]*\) .*/\1/p' <<<"$l")
    idx=$(sed -n 's/^[0-9]*: [^@:]*@if\([0-9]*\):.*/\1/p' <<<"$l")
    veth=
    [ -n "$idx" ] && veth=$(ip -o link show | awk -F': ' -v i="$idx" '$1 == i { sub(/@.*/, "", $2); print $2 }')
    [ -n "$veth" ] && owned="$owned$veth "
    err=
    if [ $shrink = 1 ]; then fp_cni_mtu_container; fp_cni_mtu_veth; else fp_cni_mtu_veth; fp_cni_mtu_container; fi
    [ -f "$dd/$id" ] && grep -q '"mtu":[0-9]' "$dd/$id" && sed "s/\"mtu\":[0-9]*/\"mtu\":$m/" "$dd/$id" > "$dd/.$id.mtu" && mv -f "$dd/.$id.mtu" "$dd/$id"
    echo "container $id $ifn ${veth:--} ${old:--} ${err:-ok}"
  done
  for p in $(ip -o link show master "$br" | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
    case "$owned" in *" $p "*) continue;; esac
    pm=$(cat "$sn/$p/mtu" 2>/dev/null)
    if l=$(ip link set dev "$p" mtu "$m" 2>&1); then echo "orphan $p ${pm:--} ok"; else echo "orphan $p ${pm:--} $l"; fi
  done
  [ $shrink = 0 ] && fp_cni_mtu_bridge
  return 0
}
# fp_cni_mtu's steps, on its locals (bash's dynamic scope)
fp_cni_mtu_bridge() {
  local e
  if e=$(ip link set dev "$br" mtu "$m" 2>&1); then echo "bridge $brmtu ok"; else echo "bridge $brmtu $e"; fi
}
fp_cni_mtu_container() {
  local e
  e=$(nsenter --net="$ns" ip link set dev "$ifn" mtu "$m" 2>&1) || err="$err container side: $e;"
}
fp_cni_mtu_veth() {
  local e
  if [ -z "$veth" ]; then err="$err no host-side veth found (peer index ${idx:-unknown});"; return 0; fi
  e=$(ip link set dev "$veth" mtu "$m" 2>&1) || err="$err $veth: $e;"
}

# fp_probe_docker IMAGE NAME: verify's probe as a Docker container (phases/shared/ping-matrix.ts), then the
# sections `probe` (`ip -j -4 addr show eth0` inside it) and `exec` (the prefix that runs a program in it).
# No json-file log (nothing to write); --stop-timeout 0: `sleep` as PID 1 ignores SIGTERM, so a Docker
# restart in the Start phase would otherwise wait 10 s for an early probe. A leftover probe (the previous
# run's removal runs in the background) clashes by name: removed, and the start retried for up to ~3 s
# (`docker rm -f` fails while Docker is already removing it); the last attempt's error is the caller's.
# The PID comes from the container's cgroup (systemd or cgroupfs driver, v2 or v1): a `docker inspect`
# costs ~30 ms of CPU per host.
fp_probe_docker() {
  local run=(docker run -d --rm --log-driver none --stop-timeout 0 --name "$2" "$1" sleep 3600) id i pid="" f
  if ! id=$("${run[@]}" 2>/dev/null); then
    for i in 1 2 3 4 5 6 7 8 9 10; do
      docker rm -f "$2" >/dev/null 2>&1
      if [ "$i" = 10 ]; then id=$("${run[@]}") || return 1; else id=$("${run[@]}" 2>/dev/null) && break; sleep 0.3; fi
    done
  fi
  for f in "/sys/fs/cgroup/system.slice/docker-$id.scope/cgroup.procs" "/sys/fs/cgroup/docker/$id/cgroup.procs" "/sys/fs/cgroup/pids/docker/$id/cgroup.procs"; do
    [ -r "$f" ] && read -r pid < "$f" && [ -n "$pid" ] && break
  done
  [ -n "$pid" ] || pid=$(docker inspect -f '{{.State.Pid}}' "$2") || return 1
  sec probe; nsenter -t "$pid" -n ip -j -4 addr show eth0
  # the host's ping entering the container's network namespace costs ~5 ms; docker exec ~75 ms
  sec exec
  if command -v ping >/dev/null && command -v nsenter >/dev/null; then echo "nsenter -t $pid -n"; else echo "docker exec $2"; fi
}

# fp_probe_podman IMAGE NAME NETWORK: the probe as a Podman container on the CNI network NETWORK (the runtime
# calls the agent binary as flannel's CNI plugin, which puts it on cni0 at subnet.env's MTU); sections as
# fp_probe_docker's. A leftover in the way is removed and the start retried, as for Docker.
fp_probe_podman() {
  local run=(podman run -d --rm --log-driver none --network "$3" --name "$2" "$1" sleep 3600) i pid
  if ! "${run[@]}" >/dev/null 2>&1; then
    for i in 1 2 3 4 5; do
      podman rm -f -t 0 "$2" >/dev/null 2>&1
      if [ "$i" = 5 ]; then "${run[@]}" >/dev/null || return 1; else "${run[@]}" >/dev/null 2>&1 && break; sleep 0.3; fi
    done
  fi
  pid=$(podman inspect -f '{{.State.Pid}}' "$2") || return 1
  sec probe; nsenter -t "$pid" -n ip -j -4 addr show eth0
  sec exec; echo "nsenter -t $pid -n"
}

# fp_probe_netns NAME VETH IP PREFIXLEN GATEWAY MTU: the probe as a bare network namespace where no container
# runtime is managed: a veth into the host's flannel subnet (the namespace takes IP, the host side GATEWAY,
# as docker0 would); section `probe` as above.
fp_probe_netns() {
  local ns=$1 veth=$2 ip=$3 len=$4 gw=$5 mtu=$6
  ip netns del "$ns" 2>/dev/null
  ip link del "$veth" 2>/dev/null
  ip netns add "$ns" &&
    ip link add "$veth" mtu "$mtu" type veth peer name fpprobe1 mtu "$mtu" &&
    ip link set fpprobe1 netns "$ns" &&
    ip -n "$ns" link set fpprobe1 name eth0 &&
    ip -n "$ns" link set lo up &&
    ip -n "$ns" link set eth0 up &&
    ip -n "$ns" addr add "$ip/$len" dev eth0 &&
    ip link set "$veth" up &&
    ip addr add "$gw/32" dev "$veth" &&
    ip route replace "$ip/32" dev "$veth" &&
    ip -n "$ns" route add "$gw/32" dev eth0 &&
    ip -n "$ns" route add default via "$gw" dev eth0 &&
    sysctl -qw net.ipv4.ip_forward=1 || return 1
  sec probe; ip -n "$ns" -j -4 addr show eth0
}

# fp_probe_remove KIND NAME VETH [BACKGROUND]: removes a probe of KIND (docker, podman, netns). BACKGROUND=1:
# a container's removal (~0.1-0.15 s of the runtime's time per host) runs detached and this returns at once;
# the next probe start removes a leftover still in the way. Never fails: nothing to remove is fine.
fp_probe_remove() {
  local cmd
  case $1 in
    docker) cmd=(docker rm -f "$2") ;;
    podman) cmd=(podman rm -f -t 0 "$2") ;;
    *) ip netns del "$2" 2>/dev/null; ip link del "$3" 2>/dev/null; return 0 ;;
  esac
  if [ "${4:-0}" = 1 ]; then setsid "${cmd[@]}" >/dev/null 2>&1 < /dev/null & else "${cmd[@]}" >/dev/null 2>&1; fi
  return 0
}

# fp_routegets ADDR...: section `routegets`, `ip route get` for each address (facts.ts parseRouteGets). One
# `ip -batch` instead of a process each; with -force a failed lookup does not stop the others; each answer
# names its "dst".
fp_routegets() {
  sec routegets
  printf 'route get %s\n' "$@" | ip -force -j -batch - 2>&1
}

# Uploads (remote/upload.ts): a file reaches its path only whole. It is written to a temporary name beside
# it, checked for length and sha256, then renamed over it; on any other way out the temporary file goes
# and the old file stays. Exit 75 (upload.ts UPLOAD_INCOMPLETE_EXIT) when it did not arrive whole.

# fp_dir VAR PATH: sets VAR to PATH's directory (/ for a file at the root). Its own local has a name no
# caller uses: printf -v would set that local instead of the caller's VAR.
fp_dir() {
  local fp_dir_d=${2%/*}
  printf -v "$1" '%s' "${fp_dir_d:-/}"
}

# fp_stale_temps PATH: removes the temporaries of PATH an interrupted upload left (a host that lost power
# mid-transfer): only ones older than 10 minutes, so another run's file in flight is never deleted.
fp_stale_temps() {
  local d
  fp_dir d "$1"
  find "$d" -maxdepth 1 -name ".${1##*/}.flanprov-*" -mmin +10 -delete 2>/dev/null || true
}

# fp_verify_install TMP PATH BYTES SHA256 MODE OWNER [GOT]: TMP checked for BYTES and SHA256 (GOT: the
# sha256sum output taken while it arrived; else it is hashed here), given MODE (and OWNER:OWNER unless
# OWNER is empty) and renamed over PATH; else removed, a line on stderr saying what arrived, exit 75.
fp_verify_install() {
  local tmp=$1 path=$2 size sum
  size=$(stat -c %s "$tmp" 2>/dev/null || echo 0)
  [ "$size" = "$3" ] || fp_upload_failed "$tmp" "upload of $path incomplete: $size of $3 bytes arrived; the old file is untouched"
  if [ $# -ge 7 ]; then sum=${7%% *}; else sum=$(sha256sum < "$tmp" | cut -d' ' -f1); fi
  [ "$sum" = "$4" ] || fp_upload_failed "$tmp" "upload of $path corrupted: sha256 $sum, expected $4; the old file is untouched"
  chmod "$5" "$tmp"
  if [ -n "$6" ]; then chown "$6:$6" "$tmp"; fi
  mv -f -- "$tmp" "$path" || return
  fp_forget "$tmp"
}

# fp_upload_failed TMP MESSAGE: TMP removed, MESSAGE on stderr, exit 75.
fp_upload_failed() {
  rm -f -- "$1"
  fp_forget "$1"
  echo "$2" >&2
  exit 75
}

# fp_forget PATH: PATH no longer removed on exit (it was renamed into place): the exit trap then has no
# `rm` to run.
fp_forget() {
  local p fp_kept=()
  for p in "${fp_cleanup_paths[@]}"; do [ "$p" = "$1" ] || fp_kept+=("$p"); done
  fp_cleanup_paths=("${fp_kept[@]}")
}

# fp_decode ENCODING KEEP_AT: the stream on stdin decoded (xz, gzip, plain: encodings.ts) to stdout; with
# KEEP_AT, the stream as it arrived is also written there (its directory made), e.g. for peers to fetch.
fp_decode() {
  local dec=(cat)
  case $1 in xz) dec=(xz -dc) ;; gzip) dec=(gzip -dc) ;; esac
  # a pipeline stage already runs in a subshell of its own: exec saves a process per upload
  if [ -n "$2" ]; then mkdir -p -- "${2%/*}" && tee -- "$2" | "${dec[@]}"; else exec "${dec[@]}"; fi
}

# fp_receive PATH TMP BYTES SHA256 MODE OWNER ENCODING KEEP_AT [SOURCE...]: the stream (SOURCE's output, its
# stdin /dev/null; else this script's stdin) decoded (fp_decode) into TMP and hashed as it arrives (no
# second read of 100 MB), then fp_verify_install. A short stream (a closed channel) fails the length
# check, a decoder's or SOURCE's error the pipe.
fp_receive() {
  local path=$1 tmp=$2 bytes=$3 sha=$4 mode=$5 owner=$6 enc=$7 keep=$8 got rc what d
  shift 8
  fp_cleanup_paths+=("$tmp")
  trap fp_cleanup EXIT
  fp_dir d "$path"
  mkdir -p -- "$d" || exit 1
  fp_stale_temps "$path"
  set -o pipefail
  if [ $# -gt 0 ]; then
    what=$1
    got=$( (umask 077; "$@" < /dev/null | fp_decode "$enc" "$keep" | tee -- "$tmp" | sha256sum) ); rc=$?
  else
    what=${enc/#plain/cat}
    got=$( (umask 077; fp_decode "$enc" "$keep" | tee -- "$tmp" | sha256sum) ); rc=$?
  fi
  if [ $rc != 0 ]; then echo "upload of $path failed while receiving ($what exit $rc); the old file is untouched" >&2; exit 75; fi
  fp_verify_install "$tmp" "$path" "$bytes" "$sha" "$mode" "$owner" "$got"
}

# fp_write_files: the small files in the arrays PATHS MODES OWNERS TMPS BYTES SHA256S CONTENTS (base64),
# as upload.ts writeFilesPart assigns them, each written through its temporary name and verified and
# renamed (fp_verify_install). A missing directory is made 0755; an existing one keeps its mode (etcd's
# 0700 PKI directory). Under the caller's set -e a failure stops before the next file.
# shellcheck disable=SC2153 # the arrays are the calling script's parameters (BYTES is not a typo of bytes)
fp_write_files() {
  local i d
  umask 077
  for i in "${!PATHS[@]}"; do
    fp_dir d "${PATHS[i]}"
    [ -d "$d" ] || install -d -m 0755 "$d"
    fp_cleanup_paths+=("${TMPS[i]}")
    trap fp_cleanup EXIT
    printf '%s' "${CONTENTS[i]}" | base64 -d > "${TMPS[i]}"
    fp_verify_install "${TMPS[i]}" "${PATHS[i]}" "${BYTES[i]}" "${SHA256S[i]}" "${MODES[i]}" "${OWNERS[i]}"
  done
}
