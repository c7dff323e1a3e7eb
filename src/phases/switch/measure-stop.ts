/**
 * switch-backend — Stop measuring (--measure), after verification: collect every pinger's log, compute
 * per direction the packets lost and the longest gap, print the table and emit one `measure.pair`
 * event per direction plus a `measure.summary`.
 */
import type { Phase, PhaseContext } from '../framework/types.js';
import { formatMeasureTable } from '../../measure/gaps.js';
import { switchRun, type SwitchRun } from './state.js';

export async function reportMeasurement(ctx: PhaseContext, run: SwitchRun): Promise<void> {
  const m = run.measurement;
  if (!m || m.isStopped) return;
  const r = await m.stop();
  run.measureResult = r;
  const t0 = run.writtenAt !== undefined ? run.writtenAt / 1000 : r.startedAt;
  for (const p of r.pairs) ctx.reporter.emit({ event: 'measure.pair', ...p });
  ctx.reporter.emit({
    event: 'measure.summary', intervalMs: r.intervalMs, totalSent: r.totalSent, totalLost: r.totalLost,
    longestGapMs: r.worst?.longestGapMs ?? 0, withinTarget: r.withinTarget, startedAt: r.startedAt, stoppedAt: r.stoppedAt,
    ...(run.writtenAt !== undefined ? { configWrittenAt: run.writtenAt / 1000 } : {}),
  });
  ctx.log('info', `measured loss (${(r.stoppedAt - r.startedAt).toFixed(1)} s${run.writtenAt !== undefined ? '; "gap at" is seconds after the config was written' : ''}):\n${formatMeasureTable(r, { intervalMs: r.intervalMs, t0 })}`);
  for (const p of r.problems) ctx.log('warn', `measurement: ${p}`);
  if (!r.withinTarget) ctx.log('warn', `measurement: a gap exceeded 1 s or a pinger gave no figures (worst: ${r.worst ? `${r.worst.from} → ${r.worst.to}, ${r.worst.longestGapMs.toFixed(0)} ms` : 'none'})`);
}

export const measureStopPhase: Phase = {
  title: 'Stop measuring',
  shouldRun: (ctx) => {
    const m = switchRun(ctx).measurement;
    return !!m && !m.isStopped;
  },
  run: (ctx) => reportMeasurement(ctx, switchRun(ctx)),
};
