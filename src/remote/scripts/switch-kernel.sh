# The kernel's datapath for switch-backend's Check datapath (phases/switch/check-datapath.ts parseKernel),
# read-only: sections links, routes, and the neighbours and FDB entries on the vxlan device DEV (empty when
# it does not exist).
# params: DEV
sec links; ip -j -d link show
sec routes; ip -j -4 route show table main
sec neigh; ip -j -4 neigh show dev "$DEV" 2>/dev/null
sec fdb; bridge -j fdb show dev "$DEV" 2>/dev/null
true
