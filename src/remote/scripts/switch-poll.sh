# One look at the agent during switch-backend (phases/switch/observe.ts): sections unit (systemd's state),
# status (its /status) and subnet_env, polled every few hundred ms per host while the cluster moves.
# params: PORT SUBNET_ENV
sec unit; systemctl is-active flanneld.service 2>/dev/null
sec status; fp_agent_status "$PORT"
sec subnet_env; cat "$SUBNET_ENV" 2>/dev/null
true
