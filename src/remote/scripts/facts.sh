# The facts script (phases/shared/facts.ts parses its output): everything the later phases decide on, in
# named sections, read-only. Every section runs at once in its own background job (fp_bg): a dozen
# systemctl/ip/iptables calls one after another were most of the script's time.
# params: AGENT_PATH AGENT_SHA_CACHE HEALTHZ_PORT ETCD_TIMEOUT DAEMON_JSON FILES[] PEERS[] ETCD[] CNI_LINK CNI_DIRS[] CNI_PLUGINS[] CNI_CONF_DIR CNI_BRIDGE PROBE_KIND PROBE_NAME PROBE_IMAGE PROBE_NETWORK PROBE_NEEDS[]
# FILES: managed files (sha256, mode, content); PEERS: IPv4 addresses for `ip route get` (L2 adjacency);
# ETCD: "host:port" endpoints to connect to.
# CNI_*: a `flannel_runtime: cni` host's facts (phases/shared/cni-facts.ts; CNI_LINK empty: not such a host).
# PROBE_*: verify's early probe (phases/shared/verify.ts), started first and printed after the `facts_end`
# marker, so the controller has the facts without waiting for `docker run` and the probe costs no request
# of its own. PROBE_KIND empty: none; PROBE_NEEDS: files that must exist for the probe to get the network.
export LC_ALL=C

facts_etcd() {
  local r=fail
  fp_tcp_probe "${1%:*}" "${1##*:}" "$ETCD_TIMEOUT" && r=ok
  sec etcd "$1"
  echo "$r"
}
facts_os() { sec os; cat /etc/os-release 2>/dev/null; }
facts_uname() { sec uname; uname -s -m -r; }
facts_pid1() { sec pid1; cat /proc/1/comm 2>/dev/null; }
facts_systemd() {
  local v
  sec systemd
  v=$(systemctl --version 2>/dev/null) && echo "${v%%$'\n'*}"
}
facts_ldso() {
  local f
  sec ldso
  for f in /lib64/ld-linux-x86-64.so.2 /lib/ld-linux-aarch64.so.1; do [ -e "$f" ] && echo "$f"; done
  return 0
}
facts_tools() {
  local c
  sec tools
  for c in ip iptables docker dockerd systemctl base64 sha256sum timeout xz gzip curl wget systemd-run; do
    command -v "$c" >/dev/null 2>&1 && echo "$c"
  done
  return 0
}
# the unit and its drop-ins, then each EnvironmentFile= they name (a leading "-": optional) that exists
facts_docker_unit() {
  local u f
  sec docker_unit
  u=$(systemctl cat docker.service 2>/dev/null)
  printf '%s\n' "$u"
  for f in $(printf '%s\n' "$u" | sed -n 's/^[[:space:]]*EnvironmentFile[[:space:]]*=//p'); do
    f=${f#-}
    if [ -f "$f" ]; then sec docker_envfile "$f"; base64 -w0 < "$f"; fi  # exact bytes: line numbers and --adopt's edits depend on them
  done
  return 0
}
# docker_show feeds docker_cmdline: one systemctl call less
facts_docker_show() {
  local d p
  sec docker_show
  d=$(systemctl show docker.service -p LoadState -p ActiveState -p MainPID -p ActiveEnterTimestampMonotonic 2>/dev/null)
  echo "$d"
  sec docker_cmdline
  fp_prop p "$d" MainPID && [ -n "$p" ] && [ "$p" != 0 ] && tr '\0' ' ' < "/proc/$p/cmdline"
}
facts_agent_show() {
  sec agent_show
  systemctl show flanneld.service -p LoadState -p ActiveState -p MainPID -p UnitFileState -p ActiveEnterTimestampMonotonic -p NRestarts 2>/dev/null
}
facts_daemon_json() { sec daemon_json; cat "$DAEMON_JSON" 2>/dev/null; }
# the default bridge network as the running dockerd sees it (lib.sh fp_docker_net): what decides whether
# Docker must restart
facts_docker_net() {
  sec docker_net
  command -v docker >/dev/null 2>&1 || return 0
  fp_docker_net
  return 0
}
facts_addr() { sec addr; ip -j -4 addr show 2>/dev/null; }
facts_route() { sec route; ip -j -4 route show table main 2>/dev/null; }
facts_vxlan() { sec vxlan; ip -j -d link show type vxlan 2>/dev/null; }
facts_agent_sha() { sec agent_sha; fp_cached_sha "$AGENT_PATH" "$AGENT_SHA_CACHE"; }
facts_subnet_env() { sec subnet_env; cat /run/flannel/subnet.env 2>/dev/null; }
facts_flanneld_procs() { sec flanneld_procs; fp_flanneld_procs; }
facts_agent_status() { sec agent_status; fp_agent_status "$HEALTHZ_PORT"; }
facts_forward() {
  sec forward
  iptables -S 2>/dev/null | awk '/^-P FORWARD /{print} /^-N FLANNEL-FWD$/{f=1} END{if(f)print "FLANNEL-FWD"}'
}

# the plugin link, the required plugins in each bin directory, the other network configs, Podman, the bridge
# and the interfaces on it
facts_cni() {
  local d p
  sec cni_link
  if [ -L "$CNI_LINK" ]; then echo "symlink $(readlink "$CNI_LINK")"; elif [ -e "$CNI_LINK" ]; then echo file; fi
  sec cni_plugins
  for d in "${CNI_DIRS[@]}"; do
    for p in "${CNI_PLUGINS[@]}"; do if [ -f "$d/$p" ] && [ -x "$d/$p" ]; then echo "$d/$p"; fi; done
  done
  sec cni_confs; ls -1 "$CNI_CONF_DIR" 2>/dev/null
  sec cni_podman; command -v podman
  sec cni_bridge; ip -j -4 addr show dev "$CNI_BRIDGE" 2>/dev/null
  sec cni_ports; ip -j link show master "$CNI_BRIDGE" 2>/dev/null
  return 0
}
# the probe only where it can get the network now (exit status 3 when not); its status in `probe_rc`
facts_probe() {
  local rc=0 f
  case $PROBE_KIND in
    docker) if ! command -v docker >/dev/null || ! systemctl is-active -q docker.service; then rc=3; fi ;;
    podman)
      command -v podman >/dev/null || rc=3
      for f in "${PROBE_NEEDS[@]}"; do [ -e "$f" ] || rc=3; done
      ;;
    *) rc=2 ;;
  esac
  if [ "$rc" = 0 ]; then
    if [ "$PROBE_KIND" = docker ]; then fp_probe_docker "$PROBE_IMAGE" "$PROBE_NAME"; else fp_probe_podman "$PROBE_IMAGE" "$PROBE_NAME" "$PROBE_NETWORK"; fi
    rc=$?
  fi
  sec probe_rc; echo "$rc"
}

fp_tmpdir facts
# the slowest first: the probe container (hundreds of ms), on its own, not in fp_bg's set
if [ -n "$PROBE_KIND" ]; then facts_probe > "$fp_tmp/probe" 2>/dev/null & fp_probe_pid=$!; fi
# the slow probes (etcd TCP connects, up to ETCD_TIMEOUT each) start first
for e in "${ETCD[@]}"; do fp_bg facts_etcd "$e"; done
for s in os uname pid1 systemd ldso tools docker_unit docker_show agent_show daemon_json docker_net addr route vxlan; do
  fp_bg "facts_$s"
done
if ((${#PEERS[@]})); then fp_bg fp_routegets "${PEERS[@]}"; fi
fp_bg facts_agent_sha
for f in "${FILES[@]}"; do fp_bg fp_file_facts "$f"; done
for s in subnet_env flanneld_procs agent_status forward; do fp_bg "facts_$s"; done
if [ -n "$CNI_LINK" ]; then fp_bg facts_cni; fi
fp_bg_print
sec facts_end
if [ -n "$PROBE_KIND" ]; then
  wait "$fp_probe_pid"
  cat "$fp_tmp/probe"
fi
