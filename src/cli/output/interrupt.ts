/**
 * Ctrl-C and SIGTERM during a run: the first one aborts the run's signal — no new phase or host task
 * starts, the step in flight is finished or undone (an upload cut, a switch rolled back), probes and
 * tunnels are cleaned up, the summary says where each host stands, exit 130. A second one exits at once.
 */
export interface InterruptHandle {
  readonly signal: AbortSignal;
  /** removes the handlers (the run is over) */
  dispose(): void;
}

export function handleInterrupts(onFirst: (signal: NodeJS.Signals) => void, exit: (code: number) => void = (c) => process.exit(c)): InterruptHandle {
  const ac = new AbortController();
  const on = (sig: NodeJS.Signals) => {
    if (ac.signal.aborted) {
      process.stderr.write(`\n${sig} again: stopping at once (the hosts may be mid-step; run the command again to converge)\n`);
      exit(130);
      return;
    }
    ac.abort(`interrupted by ${sig}`);
    onFirst(sig);
  };
  const sigs: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  for (const s of sigs) process.on(s, on);
  return {
    signal: ac.signal,
    dispose: () => { for (const s of sigs) process.off(s, on); },
  };
}
