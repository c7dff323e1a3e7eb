/**
 * The files `up` writes on a host: flanneld.service (Type=notify, Restart=always, the inventory's agent
 * flags), the Docker drop-in (the host's own dockerd command line plus --bip/--mtu from subnet.env), the
 * agent's environment file and etcd TLS files (mode 0600). Stand-in until the shared render module
 * (templates/ + render) is available; the command wires whichever renderer through `renderHostFiles`.
 */
import { readFileSync } from 'node:fs';
import type { HostState } from '../framework/types.js';
import { RemotePaths } from '../../inventory/types.js';
import type { DesiredFile } from '../shared/changes.js';
import { dockerManaged } from '../shared/preflight.js';
import { agentPath } from './facts.js';
import { gathered } from './state.js';

export function flanneldUnit(h: HostState): string {
  const env = Object.keys(h.spec.agentEnv).length ? `EnvironmentFile=${RemotePaths.agentEnvFile}\n` : '';
  return `# Written by flanprov; changes are overwritten by the next \`flanprov up\`.
[Unit]
Description=flannel network agent (flanprov)
After=network-online.target
Wants=network-online.target
Before=docker.service

[Service]
# READY=1 comes from systemd-notify, a child of the agent: systemd must accept it from any PID of the unit.
Type=notify
NotifyAccess=all
${env}ExecStart=${agentPath(h)} ${h.spec.agentFlags.join(' ')}
Restart=always
RestartSec=5

[Install]
WantedBy=multi-user.target
`;
}

export function dockerDropIn(execStart: string): string {
  return `# Written by flanprov: Docker's bridge on this host's flannel subnet.
[Unit]
After=flanneld.service
Wants=flanneld.service

[Service]
EnvironmentFile=${RemotePaths.subnetEnv}
ExecStart=
ExecStart=${execStart} --bip=\${FLANNEL_SUBNET} --mtu=\${FLANNEL_MTU}
`;
}

export function renderHostFiles(h: HostState): DesiredFile[] {
  const f = gathered(h);
  const files: DesiredFile[] = [{ path: RemotePaths.flanneldUnit, content: flanneldUnit(h), mode: 0o644, role: 'agent-unit' }];
  if (dockerManaged(h.spec, f) && f.docker.execStart) {
    files.push({ path: RemotePaths.dockerDropIn, content: dockerDropIn(f.docker.execStart), mode: 0o644, role: 'docker-dropin' });
  }
  const env = Object.entries(h.spec.agentEnv);
  if (env.length) {
    files.push({ path: RemotePaths.agentEnvFile, content: env.map(([k, v]) => `${k}=${v}\n`).join(''), mode: 0o600, role: 'agent-env' });
  }
  const tls: [string | undefined, string][] = [
    [h.spec.flannel.etcdCaFile, RemotePaths.etcdCa], [h.spec.flannel.etcdCertFile, RemotePaths.etcdCert], [h.spec.flannel.etcdKeyFile, RemotePaths.etcdKey],
  ];
  for (const [local, remote] of tls) {
    if (local) files.push({ path: remote, content: readFileSync(local, 'utf8'), mode: 0o600, role: 'agent-tls' });
  }
  return files;
}
