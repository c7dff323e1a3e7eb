# Stops the agent server (serve-start.sh), if any, and removes what it served from DIR.
# params: UNIT DIR
systemctl stop "$UNIT" 2>/dev/null; systemctl reset-failed "$UNIT" 2>/dev/null; rm -rf -- "$DIR"; true
