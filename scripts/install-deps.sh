#!/usr/bin/env bash
# Installs what flanprov's build, lab and tests need on a fresh Debian 12 machine (as root).
# Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

# ansible-core: ansible-inventory, the oracle of the inventory differential tests (test/unit/inventory/);
# the 8 MB core is enough (Debian's `ansible` adds 250 MB of collections no inventory plugin here needs).
PKGS=(etcd-server etcd-client debootstrap systemd-container iproute2 iptables tcpdump iputils-ping
      busybox-static openssh-client openssh-server kmod procps openssl curl ansible-core python3
      containernetworking-plugins
      xz-utils   # xz-utils: npm run build writes dist/flanneld.xz (scripts/compress-agent.mjs)
      shellcheck)  # shellcheck: the unit tier checks src/remote/scripts/*.sh (test/unit/remote/scripts/)
missing=()
for p in "${PKGS[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
if ((${#missing[@]})); then
  echo "[deps] apt-get install ${missing[*]}"
  # Package install scripts must not start services (etcd) in the machine's own namespace.
  made_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; made_policy=1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  ((made_policy)) && rm -f /usr/sbin/policy-rc.d
fi

if [[ ! -d node_modules/.package-lock.json && ! -f node_modules/.package-lock.json ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "[deps] npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi
