# The start script of `up` (phases/up/start.ts): end an old flanneld (up --adopt), reload/enable/restart
# flanneld as the plan says, wait for its /readyz, then print what the phase checks: sections ready,
# active, subnet_env, status (the agent's /status) and Docker's state (fp_docker_state).
# DOCKER_RESTART=1 (Docker's drop-in changed or Docker is not running: known before the agent starts): Docker
# restarts in this exec once the agent is ready (its drop-in reads subnet.env), systemd reloaded first unless
# done above; exit 4 when that fails (its status on stderr). Then, with PROBE_NAME, verify's probe container
# is started on the new docker0 (sections probe and exec; a failed start leaves them out, and verify starts
# one itself): a probe started before the restart would die with it.
# params: END_UNITS[] END_PIDS[] TAKEOVER DAEMON_RELOAD ENABLE RESTART PORT READY_TIMEOUT SUBNET_ENV DOCKER_RESTART PROBE_IMAGE PROBE_NAME
# TAKEOVER=1: an old flanneld is replaced; END_UNITS are its units other than flanneld.service (their files
# are already set aside: disabled and stopped), END_PIDS its processes started from a shell (SIGTERM,
# SIGKILL after 5 s); flanneld.service itself ends by our restart of the unit.
set -o pipefail

start_end_pid() {
  kill -TERM "$1" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  kill -0 "$1" 2>/dev/null && kill -KILL "$1"
  return 0
}

# status 0 when the agent answers /readyz with 200 within 1 s
start_readyz() {
  # shellcheck disable=SC2016 # the inner bash expands $0: the port goes in as an argument, not code
  timeout 1 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" && printf "GET /readyz HTTP/1.0\r\n\r\n" >&3 && head -c 12 <&3' "$PORT" 2>/dev/null | grep -q ' 200'
}

if [ "$TAKEOVER" = 1 ]; then
  for u in "${END_UNITS[@]}"; do systemctl disable -q "$u" 2>/dev/null; systemctl stop "$u"; done
  for p in "${END_PIDS[@]}"; do start_end_pid "$p"; done
fi
if [ "$TAKEOVER" = 1 ] || [ "$DAEMON_RELOAD" = 1 ]; then systemctl daemon-reload; fi
if [ "$ENABLE" = 1 ]; then systemctl enable -q flanneld.service; fi
if [ "$RESTART" = 1 ]; then
  systemctl reset-failed flanneld.service 2>/dev/null
  systemctl restart flanneld.service || { systemctl status --no-pager -n 20 flanneld.service >&2; exit 3; }
fi

ready=no
end=$((SECONDS + READY_TIMEOUT))
while [ "$SECONDS" -lt "$end" ]; do
  if start_readyz; then ready=yes; break; fi
  sleep 0.1
done
sec ready; echo "$ready"
sec active; systemctl is-active flanneld.service
sec subnet_env; cat "$SUBNET_ENV" 2>/dev/null
sec status; fp_agent_status "$PORT"
if [ "$ready" = yes ] && [ "$DOCKER_RESTART" = 1 ]; then
  if [ "$TAKEOVER" != 1 ] && [ "$DAEMON_RELOAD" != 1 ]; then systemctl daemon-reload; fi
  sec docker_restarted; echo yes
  (fp_docker_restart) || exit 4
  if [ -n "$PROBE_NAME" ]; then fp_probe_docker "$PROBE_IMAGE" "$PROBE_NAME" || true; fi
else
  fp_docker_state
fi
