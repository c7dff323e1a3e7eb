/**
 * Run the real `ansible-inventory -i SRC... --list` (ansible-core, installed by scripts/install-deps.sh) and
 * reduce its output to what the differential tests compare: each host's groups and variables. It runs in an
 * empty directory with an empty ansible.cfg and no ANSIBLE_* variables, so nothing of this machine's
 * Ansible configuration (or a playbook directory) leaks in.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
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

export function ansibleInventory(sources: string[]): Promise<OracleResult> {
  const args = [...sources.flatMap((s) => ['-i', s]), '--list'];
  return new Promise((resolve, reject) => {
    execFile('ansible-inventory', args, { cwd, env, maxBuffer: 64 << 20, timeout: 60_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`ansible-inventory ${args.join(' ')} failed: ${stderr || err.message}`));
      let data: Record<string, { hosts?: string[]; children?: string[] }> & { _meta: { hostvars: Record<string, Record<string, unknown>> } };
      try { data = JSON.parse(markFloats(stdout)) as typeof data; } catch (e) { return reject(new Error(`ansible-inventory printed no JSON: ${stdout.slice(0, 200)} ${stderr}`)); }
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
      resolve({ hosts, groups });
    });
  });
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

/** Run fn over items, at most n at a time (the machine has 2 cores; ansible-inventory takes ~0.3 s). */
export async function mapLimit<T, R>(items: T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) { const i = next++; out[i] = await fn(items[i]!); }
  }));
  return out;
}
