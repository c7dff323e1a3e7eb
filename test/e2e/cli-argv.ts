/**
 * How e2e tests start the CLI: `node dist/flanprov.cjs`, the build users run (scripts/test.sh builds it
 * first). It starts about a second sooner per call than tsx compiling src/, and the suite makes ~170 calls.
 * The build must be of the current src/: a dist/flanprov.cjs older than any file under src/ (or a build
 * script, scripts/*.mjs) fails the test at once, naming the newer file, so a stale build is never what gets tested.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
export const FLANPROV_CLI = join(ROOT, 'dist', 'flanprov.cjs');

let checked = false;

function newestUnder(dir: string): { path: string; mtimeMs: number } {
  let best = { path: dir, mtimeMs: 0 };
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    const c = e.isDirectory() ? newestUnder(p) : { path: p, mtimeMs: statSync(p).mtimeMs };
    if (c.mtimeMs > best.mtimeMs) best = c;
  }
  return best;
}

/** Throws when dist/flanprov.cjs is missing or older than a source it is built from. */
export function assertCliBuilt(): void {
  if (checked) return;
  let built: number;
  try {
    built = statSync(FLANPROV_CLI).mtimeMs;
  } catch {
    throw new Error(`${FLANPROV_CLI} is missing: run \`npm run build\` before the e2e tests`);
  }
  const sources = [newestUnder(join(ROOT, 'src')), ...readdirSync(join(ROOT, 'scripts')).filter((f) => f.endsWith('.mjs'))
    .map((f) => join(ROOT, 'scripts', f)).map((path) => ({ path, mtimeMs: statSync(path).mtimeMs }))];
  for (const n of sources) {
    if (n.mtimeMs > built) throw new Error(`${FLANPROV_CLI} is older than ${n.path}: run \`npm run build\` before the e2e tests`);
  }
  checked = true;
}

/** The argv after `node` that runs flanprov with `args`. */
export function cliArgv(...args: string[]): string[] {
  assertCliBuilt();
  return [FLANPROV_CLI, ...args];
}
