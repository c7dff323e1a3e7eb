/**
 * CLI start-up (issue 12.5; prints figures, never pass/fail): hyperfine-style repeated runs of
 * `node -e 0` (the floor), `flanprov --version`, `--help` and `render`, wall time per process (min, median,
 * mean), with the load average beside them (on a busy 2-core machine every figure moves with it).
 * Then which npm packages each command's module graph pulls in when it runs (esbuild metafile of the command's
 * file, its own import() calls left out):
 * what a command loads that it does not use shows here.
 * Usage: node --import tsx bench/cli-startup.ts [--runs N] [--inventory FILE (for render)] [--cli dist/flanprov.cjs]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';

const ROOT = join(__dirname, '..');
const argv = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : dflt;
};
const runs = Number(opt('--runs', '15'));
const cli = opt('--cli', join(ROOT, 'dist/flanprov.cjs'));
const inventory = opt('--inventory', ''); // render needs one (a lab's: /var/lib/flanprov/labs/NAME/inventory.yml)
const load = (): string => loadavg().map((x) => x.toFixed(1)).join(' ');

function timeRuns(cmd: string[]): number[] {
  spawnSync(cmd[0]!, cmd.slice(1), { stdio: 'ignore' }); // warm the page cache
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const r = spawnSync(cmd[0]!, cmd.slice(1), { stdio: 'ignore' });
    ms.push(performance.now() - t0);
    if (r.status !== 0) throw new Error(`${cmd.join(' ')} exited ${r.status}`);
  }
  return ms.sort((a, b) => a - b);
}

async function packagesOf(entry: string): Promise<string[]> {
  const r = await build({
    entryPoints: [join(ROOT, entry)], bundle: true, platform: 'node', format: 'cjs', write: false,
    metafile: true, logLevel: 'silent', loader: { '.node': 'empty' },
    // what the entry loads when it runs, not what it may import later (main.ts's per-command import())
    plugins: [{ name: 'static-only', setup(b) { b.onResolve({ filter: /.*/ }, (a) => (a.kind === 'dynamic-import' ? { path: a.path, external: true } : undefined)); } }],
  });
  const pk = new Set<string>();
  for (const k of Object.keys(r.metafile.inputs)) {
    const m = k.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
    if (m) pk.add(m[1]!);
  }
  return [...pk].sort();
}

async function main(): Promise<void> {
  if (!existsSync(cli)) throw new Error(`${cli} missing: npm run build first`);
  console.log(`${runs} runs each, load average before: ${load()}`);
  const cases: [string, string[]][] = [
    ['node -e 0', [process.execPath, '-e', '0']],
    ['flanprov --version', [process.execPath, cli, '--version']],
    ['flanprov --help', [process.execPath, cli, '--help']],
  ];
  if (inventory) cases.push(['flanprov render', [process.execPath, cli, 'render', '-i', inventory]]);
  else console.log('(render skipped: no --inventory)');
  for (const [name, cmd] of cases) {
    const ms = timeRuns(cmd);
    const mean = ms.reduce((a, b) => a + b, 0) / ms.length;
    console.log(`${name.padEnd(20)} min ${ms[0]!.toFixed(0).padStart(4)} ms  median ${ms[Math.floor(ms.length / 2)]!.toFixed(0).padStart(4)} ms  mean ${mean.toFixed(0).padStart(4)} ms`);
  }
  console.log(`load average after: ${load()}`);
  for (const [name, file] of [['main (--version, --help)', 'src/cli/main.ts'], ['render', 'src/cli/render.ts'], ['up', 'src/cli/up.ts']] as const) {
    console.log(`${name}: ${(await packagesOf(file)).join(' ')}`);
  }
}

main().catch((e: Error) => { console.error(e.message); process.exit(1); });
