/**
 * The events every command reports while it runs. One type for all renderers (listr2 on a TTY, plain lines,
 * JSON lines). The JSON form is a stable, versioned schema: docs/output-json.md. Add fields, never rename.
 */

export type HostStatus = 'ok' | 'changed' | 'failed' | 'skipped';
export type PhaseStatus = 'ok' | 'changed' | 'failed' | 'skipped';

/** The outcome of one phase on one host. */
export interface HostPhaseResult {
  host: string;
  status: HostStatus;
  /** human-readable list of what changed (or, in a dry run, what would change) */
  changes: string[];
  /** why it failed or was skipped */
  message?: string;
  ms: number;
}

/** The outcome of a whole run for one host (all phases). */
export interface HostSummary {
  host: string;
  status: HostStatus;
  changes: string[];
  /** the phase that failed on this host */
  failedPhase?: string;
  message?: string;
  ms: number;
}

export interface VerifyMatrix {
  /** host names, in row/column order */
  hosts: string[];
  /**
   * cells[i][j]: result of pinging host j's probe from host i's probe (i != j); null on the diagonal.
   * `mtuOk` is the full-size don't-fragment ping.
   */
  cells: ({ ok: boolean; rttMs?: number; mtuOk?: boolean; message?: string } | null)[][];
}

export type FlanprovEvent =
  | { event: 'run.start'; command: string; hosts: string[]; dryRun: boolean }
  | { event: 'phase.start'; phase: string; hosts: string[] }
  | { event: 'phase.end'; phase: string; status: PhaseStatus; ms: number; failedHosts?: string[] }
  | { event: 'host.change'; phase: string; host: string; change: string; dryRun: boolean }
  | ({ event: 'host.result'; phase: string } & HostPhaseResult)
  | { event: 'log'; level: 'info' | 'warn' | 'debug'; message: string; host?: string; phase?: string }
  | ({ event: 'verify.matrix' } & VerifyMatrix)
  | { event: 'summary'; command: string; ok: boolean; dryRun: boolean; exitCode: number; ms: number; hosts: HostSummary[] }
  | { event: 'error'; message: string; exitCode: number; where?: string; hint?: string; hosts?: string[] };

export type EventName = FlanprovEvent['event'];

/** Receives events. Implementations: output/json.ts, output/plain.ts, output/listr.ts. */
export interface Reporter {
  emit(ev: FlanprovEvent): void;
  /** flush and stop (listr2 must restore the terminal); called once at the end, also after errors */
  close(): Promise<void>;
}
