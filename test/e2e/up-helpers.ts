/** Helpers for the up/down e2e tests: run flanprov, ssh into lab hosts, copy inventories with changes. */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { cliArgv } from './cli-argv.js';

export const ROOT = join(__dirname, '..', '..');
export const LABS = '/var/lib/flanprov/labs';

export interface Out { code: number; stdout: string; stderr: string; ms: number }

export function sh(cmd: string, args: string[], timeoutMs = 180_000, input?: string): Promise<Out> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const p = execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 32 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr), ms: Date.now() - t0 });
    });
    if (input !== undefined) p.stdin?.end(input);
    else p.stdin?.end();
  });
}

export const flanprov = (...args: string[]): Promise<Out> => sh(process.execPath, cliArgv(...args));

export class Lab {
  readonly inventory: string;
  readonly hosts: { name: string; ip: string }[];
  constructor(readonly name: string) {
    this.inventory = join(LABS, name, 'inventory.yml');
    const inv = parse(readFileSync(this.inventory, 'utf8')) as { all: { children: { nodes: { hosts: Record<string, { ansible_host: string }> } } } };
    this.hosts = Object.entries(inv.all.children.nodes.hosts).map(([name, h]) => ({ name, ip: h.ansible_host }));
  }

  /** flannel_etcd_endpoints of the lab (reachable from the root namespace) */
  etcdEndpoint(): string {
    const inv = parse(readFileSync(this.inventory, 'utf8')) as { all: { vars: { flannel_etcd_endpoints: string } } };
    return inv.all.vars.flannel_etcd_endpoints;
  }

  /** FLANPROV_E2E_LAB_PREFIX (e.g. "i") is put before the lab name, so parallel sessions keep to their own labs. */
  static async up(base: string, args: string[] = []): Promise<Lab> {
    const name = (process.env.FLANPROV_E2E_LAB_PREFIX ?? '') + base;
    await flanprov('lab', 'down', '--name', name);
    const r = await flanprov('lab', 'up', '--name', name, ...args);
    if (r.code !== 0) throw new Error(`lab up failed: ${r.stdout}\n${r.stderr}`);
    return new Lab(name);
  }

  async down(): Promise<void> {
    await flanprov('lab', 'down', '--name', this.name);
  }

  ssh(host: string, script: string): Promise<Out> {
    const h = this.hosts.find((x) => x.name === host);
    if (!h) throw new Error(`no host ${host}`);
    const dir = join(LABS, this.name, 'ssh');
    return sh('ssh', ['-i', join(dir, 'id_ed25519'), '-o', 'StrictHostKeyChecking=yes', '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
      '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', `root@${h.ip}`, script], 60_000);
  }

  async sshAll(script: string): Promise<Map<string, Out>> {
    const outs = await Promise.all(this.hosts.map(async (h) => [h.name, await this.ssh(h.name, script)] as const));
    return new Map(outs);
  }

  /** A copy of the inventory with `edit` applied to the parsed YAML (all.vars, hosts, ...). */
  variant(edit: (inv: any) => void): string {
    const inv = parse(readFileSync(this.inventory, 'utf8'));
    edit(inv);
    const dir = mkdtempSync(join(tmpdir(), 'flanprov-e2e-'));
    const file = join(dir, 'inventory.yml');
    writeFileSync(file, stringify(inv));
    return file;
  }

  /** Copy of the inventory with the text edited (for syntax errors). */
  rawVariant(edit: (text: string) => string): string {
    const dir = mkdtempSync(join(tmpdir(), 'flanprov-e2e-'));
    const file = join(dir, 'inventory.yml');
    copyFileSync(this.inventory, file);
    writeFileSync(file, edit(readFileSync(file, 'utf8')));
    return file;
  }
}

/** Lines of `--output json`, parsed (throws on a non-JSON line). */
export function jsonEvents(stdout: string): Record<string, any>[] {
  return stdout.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, any>);
}

/** Per-host unit state used to prove "not restarted": ActiveEnterTimestampMonotonic + MainPID. */
export const UNIT_STATE = 'for u in flanneld docker; do echo "$u $(systemctl show -p ActiveEnterTimestampMonotonic --value $u) $(systemctl show -p MainPID --value $u)"; done';

export function parseUnitState(out: string): Record<string, string> {
  return Object.fromEntries(out.trim().split('\n').map((l) => { const [u, ...rest] = l.split(' '); return [u!, rest.join(' ')]; }));
}
