/**
 * One request whose output the caller needs in two parts: a script prints what is needed first, then a
 * marker line, then keeps working (the facts, then the early probe's `docker run`). `head` resolves as soon
 * as the marker has arrived, with the stdout before it; `done` with the whole result when the script ends.
 */
import type { RemoteHost, RunOptions, RunResult } from './types.js';

export interface SplitRun {
  /** stdout before the marker line; undefined when the script ended without printing it */
  head: Promise<string | undefined>;
  done: Promise<RunResult>;
}

export function runUntilMarker(remote: Pick<RemoteHost, 'run'>, script: string, marker: string, opts: Omit<RunOptions, 'onStdout'> = {}): SplitRun {
  const needle = Buffer.from(`\n${marker}\n`);
  const chunks: Buffer[] = [];
  let size = 0;
  let found = false;
  let resolveHead!: (s: string | undefined) => void;
  const head = new Promise<string | undefined>((r) => { resolveHead = r; });
  const onStdout = (d: Buffer): void => {
    if (found) return;
    chunks.push(d);
    size += d.length;
    const all = Buffer.concat(chunks, size);
    // only the new bytes (and a marker split across chunks) need searching
    const i = all.indexOf(needle, Math.max(0, size - d.length - needle.length));
    if (i < 0) return;
    found = true;
    resolveHead(all.subarray(0, i).toString('utf8'));
  };
  const done = remote.run(script, { ...opts, onStdout });
  done.then(() => resolveHead(undefined), () => resolveHead(undefined));
  // `head` never rejects: a failed request shows in `done`, which the caller awaits when head is undefined
  done.catch(() => undefined);
  return { head, done };
}
