/**
 * A host serving the agent to its peers for one run (flannel_agent_source peers): `flanneld serve-file`
 * (network/agent-serve.ts) as a transient systemd service, so it is supervised, logged to the journal and
 * bounded in time (RuntimeMaxSec) even when the controller vanishes; Type=notify makes systemd-run return
 * only once it listens (or failed to).
 */
import { shq } from './command.js';
import { serveFileArgv, type ServeFileArgs } from '../network/agent-serve.js';

export const SERVE_UNIT = 'flanprov-agent-serve.service';
/** Where a serving host keeps the compressed copy it received (tmpfs; removed when the server exits). */
export const SERVE_DIR = '/run/flanprov/agent-serve';
/** The longest a server may live, whatever happens to the run. */
export const SERVE_MAX_S = 900;

/** Exit status of serveStartScript when the server could not be started (the agent itself is installed). */
export const SERVE_FAILED_EXIT = 76;

/** bash: (re)starts the server; exits SERVE_FAILED_EXIT with systemd's account when it does not listen. */
export function serveStartScript(agentPath: string, args: ServeFileArgs): string {
  const argv = [agentPath, ...serveFileArgv(args)].map(shq).join(' ');
  return [
    `systemctl stop ${SERVE_UNIT} 2>/dev/null; systemctl reset-failed ${SERVE_UNIT} 2>/dev/null`,
    `if ! out=$(systemd-run --quiet --collect --unit=${SERVE_UNIT} -p Type=notify -p NotifyAccess=all -p RuntimeMaxSec=${SERVE_MAX_S} -- ${argv} 2>&1); then`,
    `  echo "cannot serve the agent to peers: $out $(journalctl -u ${SERVE_UNIT} -n 3 -o cat 2>/dev/null | tr '\\n' ' ')" >&2; exit ${SERVE_FAILED_EXIT}`,
    'fi',
  ].join('\n');
}

/** bash: stops the server (if any) and removes what it served from SERVE_DIR. */
export function serveStopScript(): string {
  return `systemctl stop ${SERVE_UNIT} 2>/dev/null; systemctl reset-failed ${SERVE_UNIT} 2>/dev/null; rm -rf -- ${shq(SERVE_DIR)}; true`;
}
