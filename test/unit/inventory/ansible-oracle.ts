/**
 * Run the real `ansible-inventory -i SRC... --list` (ansible-core, installed by scripts/install-deps.sh; many
 * inventories in one process by ansible-inventory-batch.py, checked against the command itself) and reduce its output to what the differential tests compare: each host's groups and variables. It runs in an
 * empty directory with an empty ansible.cfg and no ANSIBLE_* variables, so nothing of this machine's
 * Ansible configuration (or a playbook directory) leaks in.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PyFloat, pyNumberStr } from '../../../src/inventory/py-float.js';

export interface OracleHost { groups: string[]; vars: Record<string, unknown> }
export interface OracleResult { hosts: Map<string, OracleHost>; groups: Map<string, string[]> }

const cwd = mkdtempSync(join(tmpdir(), 'flanprov-ansible-'));
const cfg = join(cwd, 'ansible.cfg');
writeFileSync(cfg, '[defaults]\n');
const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ANSIBLE_')));
env.ANSIBLE_CONFIG = cfg;
env.ANSIBLE_INVENTORY_UNPARSED_FAILED = 'true';
env.ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED = 'true';
env.ANSIBLE_LOCALHOST_WARNING = 'false';
env.ANSIBLE_NOCOLOR = '1';

/** What one `ansible-inventory --list` run printed. */
export interface OracleRun { code: number; stdout: string; stderr: string }

const args = (sources: string[]): string[] => [...sources.flatMap((s) => ['-i', s]), '--list'];

/** The real command, once (the batch runner is checked against it). */
export function ansibleInventoryCli(sources: string[]): Promise<OracleRun> {
  return new Promise((resolve) => {
    execFile('ansible-inventory', args(sources), { cwd, env, maxBuffer: 64 << 20, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0, stdout, stderr });
    });
  });
}

/** The Python that runs ansible-inventory: its #! line (ansible-core may not be importable by the python3 on PATH). */
function ansiblePython(): string {
  const bin = execFileSync('sh', ['-c', 'command -v ansible-inventory'], { encoding: 'utf8' }).trim();
  const m = /^#!\s*(\S+)(?:\s+(\S+))?/.exec(readFileSync(bin, 'utf8').split('\n')[0]!);
  if (!m) throw new Error(`${bin} has no #! line`);
  return m[1]!.endsWith('/env') ? m[2]! : m[1]!;
}

/**
 * `ansible-inventory -i SRC... --list` for every case, in one Python process (ansible-inventory-batch.py: the
 * same InventoryCLI, ansible-core imported once; 71 inventories in ~1 s instead of one process each).
 */
export function ansibleInventoryRuns(cases: string[][]): Promise<OracleRun[]> {
  return new Promise((resolve, reject) => {
    const p = execFile(ansiblePython(), [join(__dirname, 'ansible-inventory-batch.py')], { cwd, env, maxBuffer: 256 << 20, timeout: 300_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`the ansible-inventory batch failed: ${stderr || err.message}`));
      resolve(JSON.parse(stdout) as OracleRun[]);
    });
    p.stdin!.end(JSON.stringify(cases));
  });
}

/** Each host's groups and variables from one run's output (or the error it ended with). */
export function oracleResult(sources: string[], run: OracleRun): OracleResult {
  if (run.code !== 0) throw new Error(`ansible-inventory ${args(sources).join(' ')} failed: ${run.stderr}`);
  let data: Record<string, { hosts?: string[]; children?: string[] }> & { _meta: { hostvars: Record<string, Record<string, unknown>> } };
  try { data = JSON.parse(markFloats(run.stdout)) as typeof data; } catch { throw new Error(`ansible-inventory printed no JSON: ${run.stdout.slice(0, 200)} ${run.stderr}`); }
  const groups = new Map<string, string[]>();
  const members = (g: string, seen = new Set<string>()): string[] => {
    if (seen.has(g)) return [];
    seen.add(g);
    const e = data[g] ?? {};
    return [...(e.hosts ?? []), ...(e.children ?? []).flatMap((c) => members(c, seen))];
  };
  for (const g of Object.keys(data)) if (g !== '_meta') groups.set(g, [...new Set(members(g))]);
  const hosts = new Map<string, OracleHost>();
  for (const h of groups.get('all') ?? []) hosts.set(h, { groups: [], vars: data._meta.hostvars[h] ?? {} });
  for (const [g, hs] of groups) if (g !== 'all') for (const h of hs) hosts.get(h)?.groups.push(g);
  for (const h of hosts.values()) h.groups.sort();
  return { hosts, groups };
}

/** One inventory through the oracle. */
export async function ansibleInventory(sources: string[]): Promise<OracleResult> {
  return oracleResult(sources, (await ansibleInventoryRuns([sources]))[0]!);
}

/**
 * Python's json.dumps writes a float with a dot or an exponent (1.0, 1e+16), an int without: JSON.parse would
 * make both a number. Every float token outside strings becomes {"$float": "<as printed>"} first, the form
 * `canonical()` gives flanprov's values, so an int read as a float (or the other way) is a difference.
 */
export function markFloats(json: string): string {
  return json.replace(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?/g, (tok) => (tok.startsWith('"') || !/[.eE]/.test(tok) ? tok : `{"$float":"${tok}"}`));
}

/** flanprov's values in the oracle's terms: JSON, with floats as {"$float": repr} (Python's repr, py-float.ts). */
export function canonical(v: unknown): unknown {
  if (v instanceof PyFloat || (typeof v === 'number' && !Number.isInteger(v))) return { $float: pyNumberStr(v as number | PyFloat) };
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === 'object') {
    const j = (v as { toJSON?: () => unknown }).toJSON;
    if (j) return j.call(v);
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, canonical(x)]));
  }
  return v;
}

