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

/** One direction of one host pair measured during `switch-backend --measure` (src/measure/gaps.ts). */
export type MeasurePair = import('../../measure/gaps.js').PairStats;

/** The whole measurement of `switch-backend --measure`. Times are unix seconds. */
export interface MeasureSummaryEvent {
  intervalMs: number;
  totalSent: number;
  totalLost: number;
  longestGapMs: number;
  /** every pair's longest gap ≤ 1 s and every pinger gave figures */
  withinTarget: boolean;
  startedAt: number;
  stoppedAt: number;
  /** when the new config was written to etcd */
  configWrittenAt?: number;
}

/** The outcome of `switch-backend`. */
export interface SwitchResult {
  from: string;
  to: string;
  outcome: 'switched' | 'rolled-back' | 'forced' | 'left' | 'nothing-to-do';
  /** hosts whose agent did not follow, and why */
  notFollowed: { host: string; why: string }[];
  /** from the config write to the end (0 when nothing was written) */
  ms: number;
}

export type FlanprovEvent =
  | { event: 'run.start'; command: string; hosts: string[]; dryRun: boolean }
  | { event: 'phase.start'; phase: string; hosts: string[] }
  | { event: 'phase.end'; phase: string; status: PhaseStatus; ms: number; failedHosts?: string[]; roundTrips?: Record<string, number>; cpuMs?: number }
  | { event: 'host.change'; phase: string; host: string; change: string; dryRun: boolean }
  | ({ event: 'host.result'; phase: string } & HostPhaseResult)
  | { event: 'log'; level: 'info' | 'warn' | 'debug'; message: string; host?: string; phase?: string }
  | ({ event: 'verify.matrix' } & VerifyMatrix)
  | ({ event: 'measure.pair' } & MeasurePair)
  | ({ event: 'measure.summary' } & MeasureSummaryEvent)
  | ({ event: 'switch.result' } & SwitchResult)
  | { event: 'summary'; command: string; ok: boolean; dryRun: boolean; exitCode: number; ms: number; hosts: HostSummary[]; runLog?: string }
  | { event: 'error'; message: string; exitCode: number; where?: string; hint?: string; hosts?: string[] };

export type EventName = FlanprovEvent['event'];

/** Receives events. Implementations: output/json.ts, output/plain.ts, output/listr.ts. */
export interface Reporter {
  emit(ev: FlanprovEvent): void;
  /** flush and stop (listr2 must restore the terminal); called once at the end, also after errors */
  close(): Promise<void>;
}
