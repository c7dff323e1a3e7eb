/**
 * Gives memory back soon after a burst (start-up, 1,000 peers arriving at once). V8 keeps the garbage of
 * a burst and the heap pages it grew into until its memory reducer runs, 10-20 s later; RSS stays
 * 5-6 MB higher all that time. Once the heap has grown by `thresholdMb` since the last collection and has
 * stopped growing (the burst is over), one compacting full GC releases those pages within a second.
 * Measured with bench/agent-memory.ts: with 1,000 peers 3 s after the last route, anon RSS 22.9 -> 17.9 MB.
 * A full GC of the agent's ~10 MB heap takes a few ms, and happens only after the heap grew.
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export function startHeapTrim(thresholdMb = 3, everyMs = 1000): void {
  // gc() for this process without a command-line flag (a single executable takes none)
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  // a plain full GC frees objects but keeps the fragmented pages they were on; compacting releases them
  setFlagsFromString('--compact-on-every-full-gc');
  const used = () => getHeapStatistics().used_heap_size;
  const threshold = thresholdMb * 1048576;
  let base = 0; // start-up garbage counts: the first quiet second after start collects it
  let last = used();
  setInterval(() => {
    const u = used();
    if (u - base > threshold && u - last < 1048576) {
      gc();
      base = used();
    } else if (u < base) {
      base = u;
    }
    last = u;
  }, everyMs).unref();
}
