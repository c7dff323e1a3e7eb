/** Progress lines of the lab commands: plain, timestamped from the start of the command, on stderr-free stdout. */
const t0 = Date.now();
let quiet = false;

/** `--output json` wants only the JSON document on stdout. */
export function setQuiet(q: boolean): void {
  quiet = q;
}

export function progress(msg: string): void {
  if (quiet) return;
  process.stdout.write(`[lab ${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s] ${msg}\n`);
}
