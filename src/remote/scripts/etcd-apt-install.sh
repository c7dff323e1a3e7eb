# Installs the etcd package on a member (phases/etcd/binary.ts) without starting it: a policy-rc.d that
# refuses every service start for the time of the install (our unit starts etcd, not the package's
# postinst), removed again only if we made it.
# params: PACKAGE POLICY_RC
# POLICY_RC: /usr/sbin/policy-rc.d (invoke-rc.d asks it whether a service may start).
set -e
made=0
if [ ! -e "$POLICY_RC" ]; then printf '#!/bin/sh\nexit 101\n' > "$POLICY_RC"; chmod 755 "$POLICY_RC"; made=1; fi
trap '[ $made = 1 ] && rm -f "$POLICY_RC"' EXIT
DEBIAN_FRONTEND=noninteractive timeout 300 apt-get install -y -q --no-install-recommends "$PACKAGE" >/dev/null
