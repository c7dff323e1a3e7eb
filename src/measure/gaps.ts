/**
 * From one pinger's parsed log to the figures the user sees: packets sent and lost, and the longest gap
 * (how long the pair went without replies during its longest run of lost packets). Pure.
 *
 * Judging: the last packets sent before the pinger was stopped may still have been in flight when it was
 * interrupted, so the last `ceil(inFlightMs / interval)` sequence numbers are not judged either way.
 * A gap is timed from the reply before the lost run to the reply after it (-D timestamps), which is what
 * a connection would notice; where one side is missing (loss at the very start or end) it is estimated
 * from the interval.
 */
import type { PingLog } from './ping-log.js';

export interface PairStats {
  from: string;
  to: string;
  /** packets judged (sent, minus the in-flight tail) */
  sent: number;
  received: number;
  lost: number;
  /** percent, two decimals */
  lossPct: number;
  /** runs of consecutive lost packets */
  lossRuns: number;
  /** the longest run of lost packets */
  longestRun: number;
  /** time without replies around the longest run (0 without loss) */
  longestGapMs: number;
  /** unix seconds of the last reply before that gap (when known) */
  longestGapAt?: number;
  /** the longest time between two successive replies, loss or not (scheduling hiccups show here) */
  maxSilenceMs: number;
  /** ICMP errors received (e.g. Destination Host Unreachable) */
  errors: number;
  duplicates: number;
  /** the pinger printed no statistics (it was killed or died): figures come from the lines seen */
  incomplete: boolean;
}

export interface GapOptions {
  intervalMs: number;
  /** tail not judged, default 100 ms */
  inFlightMs?: number;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

export function pairStats(from: string, to: string, log: PingLog, opts: GapOptions): PairStats {
  const interval = opts.intervalMs;
  const tail = Math.ceil((opts.inFlightMs ?? 100) / interval);
  let maxSeen = 0; // a loop, not Math.max(...): a long run has hundreds of thousands of lines
  for (const x of [log.replies, log.noAnswer, log.errors]) for (const r of x) if (r.seq > maxSeen) maxSeen = r.seq;
  const transmitted = log.transmitted ?? maxSeen;
  const judged = Math.max(0, transmitted - tail);
  const replyAt = new Map<number, number>();
  for (const r of log.replies) if (r.seq >= 1 && r.seq <= judged) replyAt.set(r.seq, r.t);
  // Replies after the judged window still bound a gap that ends inside it.
  const anyReply = new Map<number, number>(log.replies.map((r) => [r.seq, r.t]));

  let lost = 0;
  let runs = 0;
  let longestRun = 0;
  let longestGapMs = 0;
  let longestGapAt: number | undefined;
  let seq = 1;
  while (seq <= judged) {
    if (replyAt.has(seq)) {
      seq++;
      continue;
    }
    const start = seq;
    while (seq <= judged && !replyAt.has(seq)) seq++;
    const end = seq - 1;
    const n = end - start + 1;
    lost += n;
    runs++;
    const before = anyReply.get(start - 1);
    let after: number | undefined;
    for (let s = end + 1; s <= transmitted && after === undefined; s++) after = anyReply.get(s);
    const gap = before !== undefined && after !== undefined ? (after - before) * 1000 : (n + 1) * interval;
    if (n > longestRun) longestRun = n;
    if (gap > longestGapMs) {
      longestGapMs = gap;
      longestGapAt = before;
    }
  }

  let maxSilenceMs = 0;
  const ordered = [...replyAt.entries()].sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < ordered.length; i++) maxSilenceMs = Math.max(maxSilenceMs, (ordered[i]![1] - ordered[i - 1]![1]) * 1000);

  const stats: PairStats = {
    from, to,
    sent: judged,
    received: judged - lost,
    lost,
    lossPct: judged ? round2((lost / judged) * 100) : 0,
    lossRuns: runs,
    longestRun,
    longestGapMs: round2(longestGapMs),
    maxSilenceMs: round2(maxSilenceMs),
    errors: log.errors.length,
    duplicates: log.duplicates,
    incomplete: log.transmitted === undefined,
  };
  if (longestGapAt !== undefined) stats.longestGapAt = longestGapAt;
  return stats;
}

export interface MeasureSummary {
  pairs: PairStats[];
  totalSent: number;
  totalLost: number;
  /** the worst pair by longest gap */
  worst?: PairStats;
  /** every pair's longest gap is within the target (default 1000 ms) */
  withinTarget: boolean;
}

export function summarize(pairs: readonly PairStats[], targetGapMs = 1000): MeasureSummary {
  const worst = [...pairs].sort((a, b) => b.longestGapMs - a.longestGapMs || b.lost - a.lost)[0];
  return {
    pairs: [...pairs],
    totalSent: pairs.reduce((n, p) => n + p.sent, 0),
    totalLost: pairs.reduce((n, p) => n + p.lost, 0),
    ...(worst ? { worst } : {}),
    withinTarget: pairs.every((p) => p.longestGapMs <= targetGapMs && !p.incomplete && p.sent > 0),
  };
}

/** A text table: one row per direction (from → to). */
export function formatMeasureTable(s: MeasureSummary, opts: { intervalMs: number; t0?: number }): string {
  const rows = s.pairs.map((p) => [
    `${p.from} → ${p.to}`,
    String(p.sent),
    String(p.lost),
    `${p.lossPct.toFixed(2)}%`,
    p.lost ? `${p.longestGapMs.toFixed(0)} ms` : '0',
    p.lost && p.longestGapAt !== undefined && opts.t0 !== undefined ? `+${(p.longestGapAt - opts.t0).toFixed(2)} s` : '',
    `${p.maxSilenceMs.toFixed(0)} ms`,
    [p.errors ? `${p.errors} ICMP errors` : '', p.incomplete ? 'no statistics (pinger died?)' : '', p.sent === 0 ? 'nothing sent' : ''].filter(Boolean).join(', '),
  ]);
  const head = ['pair', 'sent', 'lost', 'loss', 'longest gap', 'gap at', 'max silence', 'notes'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd();
  const lines = [fmt(head), ...rows.map(fmt)];
  lines.push(`total: ${s.totalLost} of ${s.totalSent} packets lost (ping every ${opts.intervalMs} ms in each direction of every pair)${s.worst && s.worst.lost ? `; longest gap ${s.worst.longestGapMs.toFixed(0)} ms (${s.worst.from} → ${s.worst.to})` : ''}`);
  return lines.join('\n');
}
