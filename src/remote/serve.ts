/**
 * A host serving the agent to its peers for one run (flannel_agent_source peers): `flanneld serve-file`
 * (network/agent-serve.ts) as a transient systemd service, so it is supervised, logged to the journal and
 * bounded in time (RuntimeMaxSec) even when the controller vanishes; Type=notify makes systemd-run return
 * only once it listens (or failed to).
 */
import { remoteScript, remoteScripts, scriptPart, type ScriptPart } from './remote-script.js';
import { serveFileArgv, type ServeFileArgs } from '../network/agent-serve.js';

declare module './remote-script.js' {
  interface RemoteScripts {
    'serve-start': { UNIT: string; MAX_S: number; FAILED_EXIT: number; ARGV: readonly string[] };
    'serve-stop': { UNIT: string; DIR: string };
  }
}

export const SERVE_UNIT = 'flanprov-agent-serve.service';
/** Where a serving host keeps the compressed copy it received (tmpfs; removed when the server exits). */
export const SERVE_DIR = '/run/flanprov/agent-serve';
/** The longest a server may live, whatever happens to the run. */
export const SERVE_MAX_S = 900;

/** Exit status of serveStartScript when the server could not be started (the agent itself is installed). */
export const SERVE_FAILED_EXIT = 76;

/** (Re)starts the server (src/remote/scripts/serve-start.sh); exits SERVE_FAILED_EXIT with systemd's account when it does not listen. */
export function serveStartScript(agentPath: string, args: ServeFileArgs): string {
  return remoteScripts(serveStartPart(agentPath, args));
}

/** The same as a part of a longer script (a peer serving what it has just fetched). */
export function serveStartPart(agentPath: string, args: ServeFileArgs): ScriptPart {
  return scriptPart('serve-start', { UNIT: SERVE_UNIT, MAX_S: SERVE_MAX_S, FAILED_EXIT: SERVE_FAILED_EXIT, ARGV: [agentPath, ...serveFileArgv(args)] });
}

/** Stops the server (if any) and removes what it served from SERVE_DIR (src/remote/scripts/serve-stop.sh). */
export function serveStopScript(): string {
  return remoteScript('serve-stop', { UNIT: SERVE_UNIT, DIR: SERVE_DIR });
}
