/** Text formatting shared by the plain and listr2 renderers. */
import type { FlanprovEvent, VerifyMatrix } from '../../phases/framework/events.js';

type Summary = Extract<FlanprovEvent, { event: 'summary' }>;

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** The final per-host table: host, status, time, what changed. */
export function formatSummary(ev: Summary): string {
  const count = (s: string): number => ev.hosts.filter((h) => h.status === s).length;
  const lines = [
    `${ev.command}${ev.dryRun ? ' (dry run)' : ''}: ${ev.ok ? 'ok' : 'FAILED'} in ${secs(ev.ms)}: ` +
      `${count('ok')} ok, ${count('changed')} ${ev.dryRun ? 'would change' : 'changed'}, ${count('failed')} failed` +
      (ev.ok && !count('changed') && !ev.dryRun && ev.hosts.length ? ' (nothing to do)' : ''),
  ];
  const w = Math.max(4, ...ev.hosts.map((h) => h.host.length));
  for (const h of ev.hosts) {
    const detail = h.status === 'failed'
      ? `${h.failedPhase ? `${h.failedPhase}: ` : ''}${(h.message ?? '').split('\n')[0]}`
      : h.changes.join('; ');
    lines.push(`  ${h.host.padEnd(w)}  ${h.status.padEnd(7)}  ${secs(h.ms).padStart(7)}  ${detail}`.trimEnd());
  }
  return lines.join('\n');
}

/** The ping matrix: rows ping columns; "ok 0.15" (rtt ms), "MTU" (the DF ping failed), "FAIL", "-" diagonal. */
export function formatMatrix(m: VerifyMatrix): string {
  const w = Math.max(6, ...m.hosts.map((h) => h.length)) + 2;
  const pad = (s: string): string => s.padEnd(w);
  const cell = (c: VerifyMatrix['cells'][number][number]): string =>
    c === null ? '-' : !c.ok ? 'FAIL' : c.mtuOk === false ? 'MTU' : `ok${c.rttMs !== undefined ? ` ${c.rttMs.toFixed(2)}` : ''}`;
  const lines = [(pad('from\\to') + m.hosts.map(pad).join('')).trimEnd()];
  m.hosts.forEach((src, i) => lines.push((pad(src) + m.hosts.map((_, j) => pad(cell(m.cells[i]?.[j] ?? null))).join('')).trimEnd()));
  return lines.join('\n');
}

/** A phase's SSH requests per host, "h1 1, h2 1, h3 1" (-v); undefined when no host made one. */
export function formatRoundTrips(trips: Record<string, number> | undefined): string | undefined {
  if (!trips || !Object.values(trips).some((n) => n > 0)) return undefined;
  return Object.entries(trips).map(([h, n]) => `${h} ${n}`).join(', ');
}
