/** Plain-line renderer for non-TTY output (CI logs): one line per event worth reading, then a summary table. */
import type { FlanprovEvent, Reporter, VerifyMatrix } from '../../phases/framework/events.js';
import { formatSummary, formatMatrix, formatRoundTrips } from './format.js';

export class PlainReporter implements Reporter {
  constructor(private readonly out: NodeJS.WritableStream = process.stdout, private readonly verbose = false) {}

  private w(s: string): void { this.out.write(`${s}\n`); }

  emit(ev: FlanprovEvent): void {
    switch (ev.event) {
      case 'run.start':
        this.w(`${ev.command}: ${ev.hosts.length} host(s)${ev.dryRun ? ' (dry run: nothing is changed)' : ''}`);
        break;
      case 'phase.start':
        if (this.verbose) this.w(`--- ${ev.phase}`);
        break;
      case 'phase.end': {
        if (ev.status !== 'skipped' || this.verbose) this.w(`[${ev.status.padEnd(7)}] ${ev.phase} (${ev.ms} ms)${ev.failedHosts?.length ? ` failed on: ${ev.failedHosts.join(', ')}` : ''}`);
        const trips = this.verbose ? formatRoundTrips(ev.roundTrips) : undefined;
        if (trips) this.w(`  round trips: ${trips}`);
        break;
      }
      case 'host.change':
        this.w(`  ${ev.host}: ${ev.dryRun ? 'would: ' : ''}${ev.change}`);
        break;
      case 'host.result':
        if (ev.status === 'failed') this.w(`  ${ev.host}: FAILED: ${ev.message ?? ''}`);
        else if (this.verbose && ev.status === 'skipped') this.w(`  ${ev.host}: skipped${ev.message ? `: ${ev.message}` : ''}`);
        break;
      case 'log':
        if (ev.level !== 'debug' || this.verbose) this.w(`${ev.level === 'warn' ? 'warning: ' : ''}${ev.host ? `${ev.host}: ` : ''}${ev.message}`);
        break;
      case 'verify.matrix':
        this.w(formatMatrix(ev as VerifyMatrix));
        break;
      case 'summary':
        this.w(formatSummary(ev));
        break;
      case 'error':
        this.w(`error: ${ev.where ? `${ev.where}: ` : ''}${ev.message}${ev.hint ? `\n  hint: ${ev.hint}` : ''}`);
        break;
    }
  }

  async close(): Promise<void> { /* nothing buffered */ }
}
