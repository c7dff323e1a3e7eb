# Restarts Docker for `up` (phases/up/start.ts) once flanneld's subnet.env says what docker0 must be, then
# prints Docker's state (fp_docker_state) for the phase to check.
# params: DAEMON_RELOAD
# DAEMON_RELOAD=1: the Start script did not reload systemd, and Docker's drop-in may be new.
if [ "$DAEMON_RELOAD" = 1 ]; then systemctl daemon-reload; fi
fp_docker_restart
