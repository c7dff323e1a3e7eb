/**
 * TTY renderer on listr2 (v9, the last line that runs on Node 20): one task per phase with one subtask per
 * host, spinners while they run, ✔/✖ and times when they end. Phases arrive as events, so each phase gets
 * its own Listr instance, run when `phase.start` arrives and completed by `host.result` / `phase.end`.
 */
import { Listr, type ListrTaskWrapper } from 'listr2';
import type { FlanprovEvent, Reporter, VerifyMatrix } from '../../phases/framework/events.js';
import { formatMatrix, formatRoundTrips, formatSummary } from './format.js';

interface Deferred { resolve(v: { status: string; message?: string; ms: number }): void; reject(e: Error): void; done: boolean }

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyTask = ListrTaskWrapper<any, any, any>;

export class ListrReporter implements Reporter {
  private chain: Promise<void> = Promise.resolve();
  private hostWaits = new Map<string, Deferred>();
  private hostTasks = new Map<string, AnyTask>();
  private phaseTask: AnyTask | undefined;
  private phaseDone: Deferred | undefined;

  constructor(private readonly out: NodeJS.WritableStream = process.stdout, private readonly verbose = false) {}

  private print(s: string): void {
    this.chain = this.chain.then(() => { this.out.write(`${s}\n`); });
  }

  emit(ev: FlanprovEvent): void {
    switch (ev.event) {
      case 'run.start':
        this.print(`flanprov ${ev.command}: ${ev.hosts.length} host(s)${ev.dryRun ? ' — dry run, nothing is changed' : ''}`);
        break;
      case 'phase.start': this.startPhase(ev.phase, ev.hosts); break;
      case 'host.change': this.hostTasks.get(ev.host)?.output !== undefined && this.setOutput(ev.host, `${ev.dryRun ? 'would: ' : ''}${ev.change}`); break;
      case 'log':
        if (ev.level === 'debug' && !this.verbose) break;
        if (ev.host && this.hostTasks.has(ev.host)) this.setOutput(ev.host, ev.message);
        else if (this.phaseTask) this.phaseTask.output = `${ev.level === 'warn' ? 'warning: ' : ''}${ev.message}`;
        else this.print(`${ev.level === 'warn' ? 'warning: ' : ''}${ev.message}`);
        break;
      case 'host.result': {
        const d = this.hostWaits.get(ev.host);
        if (!d || d.done) break;
        d.done = true;
        if (ev.status === 'failed') d.reject(new Error(ev.message ?? 'failed'));
        else d.resolve({ status: ev.status, ms: ev.ms, ...(ev.status === 'changed' ? { message: ev.changes.join('; ') } : ev.message ? { message: ev.message } : {}) });
        break;
      }
      case 'phase.end': {
        for (const d of this.hostWaits.values()) if (!d.done) { d.done = true; d.resolve({ status: 'skipped', ms: 0 }); }
        const pd = this.phaseDone;
        if (pd && !pd.done) {
          pd.done = true;
          if (ev.status === 'failed') pd.reject(new Error(ev.failedHosts?.length ? `failed on ${ev.failedHosts.join(', ')}` : 'failed'));
          else {
            const trips = this.verbose ? formatRoundTrips(ev.roundTrips) : undefined;
            pd.resolve({ status: ev.status, ms: ev.ms, ...(trips ? { message: `round trips: ${trips}` } : {}) });
          }
        }
        break;
      }
      case 'verify.matrix': this.print(formatMatrix(ev as VerifyMatrix)); break;
      case 'summary': this.print(formatSummary(ev)); break;
      case 'error': this.print(`✖ ${ev.where ? `${ev.where}: ` : ''}${ev.message}${ev.hint ? `\n  hint: ${ev.hint}` : ''}`); break;
    }
  }

  private setOutput(host: string, text: string): void {
    const t = this.hostTasks.get(host);
    if (t) t.output = text;
  }

  private startPhase(title: string, hosts: string[]): void {
    this.hostWaits = new Map();
    this.hostTasks = new Map();
    const deferred = (): [Deferred, Promise<{ status: string; message?: string; ms: number }>] => {
      let d!: Deferred;
      const p = new Promise<{ status: string; message?: string; ms: number }>((resolve, reject) => { d = { resolve, reject, done: false }; });
      p.catch(() => undefined);
      return [d, p];
    };
    const [pd, phasePromise] = deferred();
    this.phaseDone = pd;
    const hostPromises = new Map(hosts.map((h) => {
      const [d, p] = deferred();
      this.hostWaits.set(h, d);
      return [h, p] as const;
    }));
    const t0 = Date.now();
    const listr = new Listr([{
      title,
      task: async (_ctx: unknown, task: AnyTask) => {
        this.phaseTask = task;
        const hostTasks = hosts.map((h) => ({
          title: h,
          task: async (_c: unknown, t: AnyTask) => {
            this.hostTasks.set(h, t);
            const r = await hostPromises.get(h)!;
            if (r.status === 'skipped') t.skip(`${h}: skipped${r.message ? `: ${r.message}` : ''}`);
            else t.title = `${h}: ${r.status}${r.message ? ` — ${r.message}` : ''} (${r.ms} ms)`;
          },
        }));
        // An untitled (hidden) task that ends with the phase, so phase-wide errors show on the phase line.
        const end = {
          task: async () => {
            const r = await phasePromise;
            task.title = `${title} (${Date.now() - t0} ms)${r.status === 'changed' ? ' — changed' : r.status === 'skipped' ? ' — skipped' : ''}${r.message ? ` — ${r.message}` : ''}`;
          },
        };
        return task.newListr([...hostTasks, end], { concurrent: true, exitOnError: false, rendererOptions: { collapseSubtasks: !this.verbose } });
      },
    }], {
      exitOnError: false,
      // Ctrl-C belongs to the run (cli/output/interrupt.ts): listr2's own handler would exit 127 mid-step
      registerSignalListeners: false,
      renderer: 'default',
      rendererOptions: { collapseSubtasks: !this.verbose, collapseErrors: false },
      fallbackRenderer: 'simple',
    });
    // Run the phases one after another (a phase ends before the next starts; this keeps the output in order).
    this.chain = this.chain.then(() => listr.run().then(() => undefined, () => undefined));
  }

  async close(): Promise<void> {
    for (const d of this.hostWaits.values()) if (!d.done) { d.done = true; d.resolve({ status: 'skipped', ms: 0 }); }
    if (this.phaseDone && !this.phaseDone.done) { this.phaseDone.done = true; this.phaseDone.resolve({ status: 'skipped', ms: 0 }); }
    await this.chain;
  }
}
