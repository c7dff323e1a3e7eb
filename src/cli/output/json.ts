/**
 * `--output json`: one JSON object per line on stdout, schema in docs/output-json.md:
 * {"v":1,"ts":"<ISO 8601>","event":"<name>", ...event fields}. `v` changes only on incompatible changes.
 */
import type { FlanprovEvent, Reporter } from '../../phases/framework/events.js';

export const JSON_SCHEMA_VERSION = 1;

export function toJsonLine(ev: FlanprovEvent, now: Date = new Date()): string {
  return JSON.stringify({ v: JSON_SCHEMA_VERSION, ts: now.toISOString(), ...ev });
}

export class JsonReporter implements Reporter {
  constructor(private readonly out: NodeJS.WritableStream = process.stdout, private readonly verbose = false) {}
  emit(ev: FlanprovEvent): void {
    if (ev.event === 'log' && ev.level === 'debug' && !this.verbose) return;
    this.out.write(`${toJsonLine(ev)}\n`);
  }
  async close(): Promise<void> { /* line-buffered */ }
}
