/**
 * The JSON event schema of docs/output-json.md as data, and a checker for one parsed line. Used by the
 * unit tests (json.ts's output) and the e2e tests (a real run's stdout), so both hold the CLI to the
 * documented schema and not to whatever it happens to print.
 */
import type { EventName } from '../../phases/framework/events.js';
import { JSON_SCHEMA_VERSION } from './json.js';

/** Required fields per event (besides v, ts, event). Optional fields are not listed. */
export const EVENT_FIELDS: Record<EventName, readonly string[]> = {
  'run.start': ['command', 'hosts', 'dryRun'],
  'phase.start': ['phase', 'hosts'],
  'phase.end': ['phase', 'status', 'ms'],
  'host.change': ['phase', 'host', 'change', 'dryRun'],
  'host.result': ['phase', 'host', 'status', 'changes', 'ms'],
  log: ['level', 'message'],
  'verify.matrix': ['hosts', 'cells'],
  'measure.pair': ['from', 'to', 'sent', 'received', 'lost', 'lossPct', 'lossRuns', 'longestRun', 'longestGapMs', 'maxSilenceMs', 'errors', 'duplicates', 'incomplete'],
  'measure.summary': ['intervalMs', 'totalSent', 'totalLost', 'longestGapMs', 'withinTarget', 'startedAt', 'stoppedAt'],
  'switch.result': ['from', 'to', 'outcome', 'notFollowed', 'ms'],
  summary: ['command', 'ok', 'dryRun', 'exitCode', 'ms', 'hosts'],
  error: ['message', 'exitCode'],
};

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/** What is wrong with one parsed JSON line (empty = valid). */
export function schemaProblems(o: unknown): string[] {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return ['not a JSON object'];
  const e = o as Record<string, unknown>;
  const p: string[] = [];
  if (e.v !== JSON_SCHEMA_VERSION) p.push(`v is ${JSON.stringify(e.v)}, want ${JSON_SCHEMA_VERSION}`);
  if (typeof e.ts !== 'string' || !ISO_UTC.test(e.ts) || Number.isNaN(Date.parse(e.ts))) p.push(`ts is ${JSON.stringify(e.ts)}, want ISO 8601 UTC`);
  const want = typeof e.event === 'string' ? EVENT_FIELDS[e.event as EventName] : undefined;
  if (!want) return [...p, `unknown event ${JSON.stringify(e.event)}`];
  for (const f of want) if (!(f in e)) p.push(`${String(e.event)} lacks ${f}`);
  return p;
}

/** Problems of a whole stream: every line valid, run.start (when there is one) first, summary exactly once and last. */
export function streamProblems(events: readonly unknown[]): string[] {
  const p = events.flatMap((e, i) => schemaProblems(e).map((m) => `line ${i + 1}: ${m}`));
  const names = events.map((e) => (e as { event?: unknown }).event);
  if (names.at(-1) !== 'summary') p.push('the last event is not summary');
  if (names.filter((n) => n === 'summary').length !== 1) p.push('summary must appear exactly once');
  if (names.includes('run.start') && names[0] !== 'run.start') p.push('run.start is not first');
  return p;
}
