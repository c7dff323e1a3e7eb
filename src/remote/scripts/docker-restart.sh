# Restarts Docker (phases/shared/docker-state.ts dockerRestartScript: up's Start once subnet.env says what
# docker0 must be, switch-backend's Update MTU), then prints its state (fp_docker_state) to be checked.
# params: DAEMON_RELOAD PROBE
# DAEMON_RELOAD=1: systemd is reloaded first (Docker's drop-in may be new); PROBE: a container removed first
# (verify's probe, a `sleep` that ignores SIGTERM, would hold the stop for Docker's 10 s timeout).
if [ "$DAEMON_RELOAD" = 1 ]; then systemctl daemon-reload; fi
if [ -n "$PROBE" ]; then fp_probe_remove docker "$PROBE"; fi
fp_docker_restart
