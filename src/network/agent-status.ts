/**
 * The agent's `GET /status` document: one type, produced by the agent and read by the CLI (facts, start,
 * check, status, switch-backend), so neither side guesses the other's field names. Add fields, never
 * rename; a contract test checks the agent's output against `parseAgentStatus`.
 */

/** Where flanprov's units make the agent serve /healthz, /readyz and /status (-healthz-port). */
export const AGENT_STATUS_PORT = 8471;

export interface AgentBackendStatus {
  type: string;
  /** the MTU this backend gives containers */
  mtu: number;
}

export interface AgentSwitchStatus {
  /** the old backend(s) still active */
  from: string[];
  to: string;
  reason: 'config change' | 'restart';
  since: string;
  deadline: string;
  /** peer subnets whose lease still shows an old backend */
  waitingFor: string[];
}

export interface AgentLastSwitch {
  from: string[];
  to: string;
  at: string;
  durationMs: number;
  outcome: string;
}

export interface AgentReconcileStatus {
  at: string;
  durationMs: number;
  reason: string;
  added: number;
  removed: number;
  unchanged: number;
  error?: string;
}

export interface AgentPeerStatus {
  subnet: string;
  publicIP: string;
  backendType: string | null;
  /** the active backend that programs it; null when none can */
  programmedBy: string | null;
}

export interface AgentEtcdStatus {
  /** false while etcd does not answer (unreachable, or a frozen member that keeps the TCP connection) */
  connected: boolean;
  detail?: string;
  /** when etcd last answered (ISO time) */
  lastContact?: string | null;
  /** since when `connected` has had its current value (ISO time) */
  since?: string;
}

export interface AgentStatus {
  version: string;
  /** routes programmed and subnet.env written (what /readyz says) */
  ready: boolean;
  subnet: string | null;
  publicIP: string | null;
  iface: { name: string; address: string; mtu: number } | null;
  network: string | null;
  /** the configured backend type */
  backend: string | null;
  /** the BackendType in this node's lease */
  leaseBackend: string | null;
  /** active backends, primary (configured) first; two during a switch */
  backends: AgentBackendStatus[];
  /** the same, names only */
  activeBackends: string[];
  switching: boolean;
  switchingSince: string | null;
  switch: AgentSwitchStatus | null;
  lastSwitch: AgentLastSwitch | null;
  /** subnet.env's FLANNEL_MTU (the primary backend's) */
  mtu: number | null;
  peerCount: number;
  peersByBackend: Record<string, number>;
  peers: AgentPeerStatus[];
  lastReconcile: AgentReconcileStatus | null;
  configRevision: string | null;
  /** a config change the agent cannot apply without a restart, in words; null when none */
  pendingConfigChange: string | null;
  lease: { expiresAt: string | null; lastError: string | null } | null;
  etcd: AgentEtcdStatus;
  uptimeSeconds: number;
  memoryMB: Record<string, number>;
}

export class AgentStatusError extends Error {}

type Check = (v: unknown) => boolean;
const str: Check = (v) => typeof v === 'string';
const num: Check = (v) => typeof v === 'number' && Number.isFinite(v);
const bool: Check = (v) => typeof v === 'boolean';
const obj: Check = (v) => !!v && typeof v === 'object' && !Array.isArray(v);
const orNull = (c: Check): Check => (v) => v === null || c(v);
const arrayOf = (c: Check): Check => (v) => Array.isArray(v) && v.every(c);
const shape = (fields: Record<string, Check>): Check => (v) => obj(v) && Object.entries(fields).every(([k, c]) => c((v as Record<string, unknown>)[k]));

/** The fields the CLI relies on, with their types (the rest is informational). */
const REQUIRED: Record<string, Check> = {
  version: str,
  ready: bool,
  subnet: orNull(str),
  publicIP: orNull(str),
  backend: orNull(str),
  leaseBackend: orNull(str),
  backends: arrayOf(shape({ type: str, mtu: num })),
  activeBackends: arrayOf(str),
  switching: bool,
  mtu: orNull(num),
  peerCount: num,
  peers: arrayOf(shape({ subnet: str, publicIP: str })),
  pendingConfigChange: orNull(str),
  etcd: shape({ connected: bool }),
};

/** Checks a parsed /status body; throws AgentStatusError naming the first field that does not fit. */
export function checkAgentStatus(v: unknown): AgentStatus {
  if (!obj(v)) throw new AgentStatusError('GET /status is not a JSON object');
  const o = v as Record<string, unknown>;
  for (const [k, c] of Object.entries(REQUIRED)) {
    if (!c(o[k])) throw new AgentStatusError(`GET /status: field "${k}" is ${k in o ? `malformed (${JSON.stringify(o[k])?.slice(0, 80)})` : 'missing'}`);
  }
  return v as AgentStatus;
}

/** Parses a /status body (text). Throws AgentStatusError for non-JSON or a document of another shape. */
export function parseAgentStatus(text: string): AgentStatus {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new AgentStatusError(`GET /status is not JSON: ${text.trim().slice(0, 80) || '(empty)'}`);
  }
  return checkAgentStatus(v);
}

/** A config change the agent has not applied yet, or a switch in progress, in words; undefined when neither. */
export function pendingChange(s: AgentStatus): string | undefined {
  if (s.pendingConfigChange) return s.pendingConfigChange;
  if (s.switching) return `a switch to ${s.switch?.to ?? '?'} is in progress`;
  return undefined;
}

/**
 * What a host's `GET /status` body says: the status, or why there is none ("no answer" for an empty body,
 * e.g. no agent listening; the parse error for anything else, e.g. Go flanneld's 404 page).
 */
export function readAgentStatus(body: string | undefined): { status: AgentStatus } | { status?: undefined; error: string } {
  const text = body?.trim() ?? '';
  if (!text) return { error: 'no answer' };
  try {
    return { status: parseAgentStatus(text) };
  } catch (e) {
    return { error: (e as Error).message };
  }
}
