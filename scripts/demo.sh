#!/usr/bin/env bash
# The main job on the built-in lab, from a fresh Debian 12 machine (as root):
# install what is needed, build, start a 3-host lab, run `flanprov up` on it (which ends with the
# cross-host container ping matrix). The lab stays up afterwards; `flanprov lab down` removes it.
#   env: LAB_NAME (default demo), LAB_HOSTS (3), LAB_TOPOLOGY (l2), BACKEND (vxlan | host-gw)
set -euo pipefail
cd "$(dirname "$0")/.."
name=${LAB_NAME:-demo}
bash scripts/install-deps.sh
npm run build --silent
flanprov() { node dist/flanprov.cjs "$@"; }
flanprov lab up --name "$name" --hosts "${LAB_HOSTS:-3}" --topology "${LAB_TOPOLOGY:-l2}"
inv=/var/lib/flanprov/labs/$name/inventory.yml
if [[ -n ${BACKEND:-} ]]; then
  sed -i "s/^\(\s*flannel_backend:\).*/\1 $BACKEND/" "$inv"
fi
flanprov up -i "$inv"
echo
echo "The lab '$name' is up. Try: node dist/flanprov.cjs status -i $inv"
echo "Remove it with:            node dist/flanprov.cjs lab down --name $name"
