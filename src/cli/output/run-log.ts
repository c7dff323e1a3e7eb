/**
 * The run log: every command's events, as `--output json` lines, in
 * `~/.cache/flanprov/runs/<time>-<command>.jsonl` (the newest RUN_LOGS_KEPT kept), so a CI run that failed
 * leaves more than its console. Secrets known to the run (become/SSH/etcd passwords) are replaced by `***`
 * in every line before it is written, whatever event carries them.
 */
import { appendFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { FlanprovEvent, Reporter } from '../../phases/framework/events.js';
import { toJsonLine } from './json.js';

export const RUN_LOGS_KEPT = 50;

export function runLogDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'flanprov', 'runs');
}

/** `2026-12-02T15-30-00.123Z-up.jsonl`: sorts by time, safe on every file system. */
export function runLogName(command: string, now = new Date()): string {
  return `${now.toISOString().replace(/:/g, '-')}-${command.replace(/[^a-z0-9-]/gi, '_')}.jsonl`;
}

/** Removes the oldest logs beyond `keep` (names sort by time). */
export function pruneRunLogs(dir: string, keep = RUN_LOGS_KEPT): void {
  const logs = readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort();
  for (const f of logs.slice(0, Math.max(0, logs.length - keep))) rmSync(join(dir, f), { force: true });
}

export class RunLog implements Reporter {
  private readonly secrets = new Set<string>();
  private broken = false;

  private constructor(readonly path: string) {}

  /** Opens a new log for `command` (undefined when the cache directory cannot be written: the run goes on). */
  static open(command: string, dir = runLogDir()): RunLog | undefined {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      pruneRunLogs(dir, RUN_LOGS_KEPT - 1);
      const log = new RunLog(join(dir, runLogName(command)));
      appendFileSync(log.path, '', { mode: 0o600 });
      return log;
    } catch {
      return undefined;
    }
  }

  /** Values never to write (each occurrence becomes `***`); empty and very short values are ignored. */
  addSecrets(values: readonly (string | undefined)[]): void {
    for (const v of values) if (v && v.length >= 3) this.secrets.add(v);
  }

  redact(line: string): string {
    let out = line;
    for (const s of this.secrets) {
      // as the value appears inside a JSON string (quotes and backslashes escaped)
      const inJson = JSON.stringify(s).slice(1, -1);
      out = out.split(inJson).join('***');
    }
    return out;
  }

  emit(ev: FlanprovEvent): void {
    if (this.broken) return;
    try {
      appendFileSync(this.path, `${this.redact(toJsonLine(ev))}\n`);
    } catch {
      this.broken = true; // a full disk must not fail the run
    }
  }

  async close(): Promise<void> { /* every line is appended as it comes */ }
}

/** Sends every event to several reporters (the console's and the run log). */
export class TeeReporter implements Reporter {
  constructor(private readonly to: readonly Reporter[]) {}
  emit(ev: FlanprovEvent): void {
    for (const r of this.to) r.emit(ev);
  }
  async close(): Promise<void> {
    await Promise.all(this.to.map((r) => r.close()));
  }
}
