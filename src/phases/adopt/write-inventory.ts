/**
 * `flanprov adopt --write-inventory FILE`: the phases that describe a hand-built cluster and write the
 * inventory `up --adopt` takes it over with. Read-only on every host: connect, shared lock, facts (the
 * running flanneld processes, from the facts script), then:
 * - Describe: each host's flanneld flags (describe.ts), etcd's network config (read through the etcd the
 *   agents use: directly, else through an SSH tunnel via a host), its TLS files copied from a host;
 * - Write inventory: the YAML (inventory/write-inventory.ts), loaded back by flanprov's own loader before it
 *   replaces FILE (temporary name, then rename), so what is written is an inventory `up` accepts.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { Phase, PhaseContext } from '../framework/types.js';
import type { ClusterSpec } from '../../inventory/types.js';
import { loadInventoryText } from '../../inventory/load.js';
import { networkVarsOf } from '../../inventory/network-vars.js';
import { inventoryYaml, type InventoryValue } from '../../inventory/write-inventory.js';
import { readConfig } from '../../etcd/config-store.js';
import { configKey } from '../../etcd/keys.js';
import { parseEtcdEndpoint } from '../shared/facts.js';
import { openEtcd } from '../shared/etcd-access.js';
import { gatherFacts } from '../shared/gather-facts.js';
import { gathered } from '../shared/host-state.js';
import { remoteScript } from '../../remote/remote-script.js';
import { InvalidInputError, UnreachableError } from '../../util/errors.js';
import { VERSION } from '../../network/version.js';
import { describeHandBuilt, type ClusterDescription } from './describe.js';

export interface WriteInventoryRequest {
  /** where to write ("-" = standard output) */
  file: string;
  /** replace an existing FILE */
  force: boolean;
  /** the connection variables of each host, as the command line gave them (written as they are) */
  connectionVars: Map<string, Record<string, InventoryValue>>;
  /** -F, repeated in the next command shown */
  sshConfig?: string;
  /** the etcd password for reading the config (FLANPROV_ETCD_PASSWORD); never written */
  etcdPassword?: string;
}

declare module '../../remote/remote-script.js' {
  interface RemoteScripts { 'read-file': { FILE: string } }
}

declare module '../framework/types.js' {
  interface RunState {
    writeInventory?: WriteInventoryRequest;
    /** filled by the Describe phase */
    described?: { description: ClusterDescription; networkVars: Record<string, InventoryValue>; tlsDir?: string; tlsFiles?: Record<'ca' | 'cert' | 'key', string | undefined> };
    /** the inventory's text, once written (or printed) */
    writtenInventory?: string;
  }
}

function request(ctx: PhaseContext): WriteInventoryRequest {
  const r = ctx.state.writeInventory;
  if (!r) throw new Error('internal: adopt run without its request');
  return r;
}

/** The TLS directory written beside FILE ("inventory.yml" → "inventory-etcd-tls/"). */
export function tlsDirFor(file: string): string {
  const abs = resolve(file);
  return join(dirname(abs), `${basename(abs, extname(abs))}-etcd-tls`);
}

/** Copies a host's etcd TLS files (what its flanneld reads) to a private temporary directory. */
async function copyTls(ctx: PhaseContext, d: ClusterDescription): Promise<{ dir?: string; files: Record<'ca' | 'cert' | 'key', string | undefined> }> {
  const files: Record<'ca' | 'cert' | 'key', string | undefined> = { ca: undefined, cert: undefined, key: undefined };
  const tls = d.etcd!.tls;
  if (!tls.ca && !tls.cert && !tls.key) return { files };
  const host = ctx.hosts.find((h) => !h.failed)!;
  const dir = mkdtempSync(join(tmpdir(), 'flanprov-adopt-tls-'));
  for (const k of ['ca', 'cert', 'key'] as const) {
    const remotePath = tls[k];
    if (!remotePath) continue;
    const r = await host.remote().run(remoteScript('read-file', { FILE: remotePath }), { timeoutMs: 15_000 });
    if (r.code !== 0) throw new InvalidInputError(`cannot read ${remotePath} (the flanneld's -etcd-${k === 'ca' ? 'cafile' : `${k}file`}): ${r.stderr.trim()}`, host.name);
    const local = join(dir, `${k}.pem`);
    writeFileSync(local, Buffer.from(r.stdout.trim(), 'base64'), { mode: 0o600 });
    files[k] = local;
  }
  return { dir, files };
}

/** The cluster as the hosts' agents reach etcd: their endpoints, prefix, credentials and TLS files. */
function etcdCluster(ctx: PhaseContext, d: ClusterDescription, tls: Record<'ca' | 'cert' | 'key', string | undefined>): ClusterSpec {
  const e = d.etcd!;
  const first = ctx.cluster.hosts[0]!;
  return {
    ...ctx.cluster,
    etcd: { endpoints: e.endpoints, prefix: e.prefix, ...(e.username ? { username: e.username, password: request(ctx).etcdPassword ?? '' } : {}) },
    hosts: [{ ...first, flannel: { ...first.flannel, ...(tls.ca ? { etcdCaFile: tls.ca } : {}), ...(tls.cert ? { etcdCertFile: tls.cert } : {}), ...(tls.key ? { etcdKeyFile: tls.key } : {}) } }],
  };
}

async function readNetworkConfig(ctx: PhaseContext, cluster: ClusterSpec): Promise<string> {
  const reach = cluster.etcd.endpoints.flatMap((u) => { const p = parseEtcdEndpoint(u); return p ? [`${p.host}:${p.port}`] : []; });
  const via = ctx.hosts.filter((h) => !h.failed).map((h) => ({ remote: h.remote(), reachable: reach }));
  const access = await openEtcd(cluster, via, { callTimeoutMs: ctx.options.etcdTimeoutMs, log: (m) => ctx.log('info', m) });
  try {
    const ms = ctx.options.etcdTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, rej) => { timer = setTimeout(() => rej(new UnreachableError(`etcd (${cluster.etcd.endpoints.join(', ')}) did not answer within ${ms / 1000} s while reading ${configKey(cluster.etcd.prefix)}`)), ms); });
    const stored = await Promise.race([readConfig(access.client, cluster.etcd.prefix), late]).finally(() => clearTimeout(timer));
    if (!stored) {
      throw new InvalidInputError(`etcd has no network config at ${configKey(cluster.etcd.prefix)} (read through the v3 API, ${access.via}), the key the hosts' flanneld -etcd-prefix names`, undefined,
        'a config written with ETCDCTL_API=2 sits in etcd\'s v2 store, which flannel ≥ 0.18 and flanprov do not read: docs/adopt.md');
    }
    ctx.log('info', `network config ${configKey(cluster.etcd.prefix)} = ${stored.text.trim()} (${access.via})`);
    return stored.text;
  } finally {
    await access.close();
  }
}

export const describePhase: Phase = {
  title: 'Describe the running cluster',
  readOnly: true,
  async run(ctx) {
    const d = describeHandBuilt(ctx.hosts.filter((h) => !h.failed).map((h) => {
      const f = gathered(h);
      return { host: h.name, foreign: f.agent.foreign, ...(f.agent.unit?.active === 'active' ? { ours: { flags: undefined } } : {}) };
    }));
    const problems = new Map(d.problems.map((p) => [p.host, p.message]));
    // each host's problem fails that host (named in the summary); the phase fails when any did
    await ctx.forEachHost(async (h, rec) => {
      const p = problems.get(h.name);
      if (p) throw new InvalidInputError(p, h.name);
      rec.info(`${d.sources.get(h.name)}: ${Object.entries(d.hostVars.get(h.name) ?? {}).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : v}`).join(' ')}`);
    });
    for (const n of d.notes) ctx.log('warn', n);
    const tls = await copyTls(ctx, d);
    try {
      const text = await readNetworkConfig(ctx, etcdCluster(ctx, d, tls.files));
      const nv = networkVarsOf(text);
      if (!nv.ok) throw new InvalidInputError(`${configKey(d.etcd!.prefix)}: ${nv.error}`);
      ctx.state.described = { description: d, networkVars: nv.vars, ...(tls.dir ? { tlsDir: tls.dir } : {}), tlsFiles: tls.files };
    } catch (e) {
      if (tls.dir) rmSync(tls.dir, { recursive: true, force: true });
      throw e;
    }
  },
  async cleanUp(ctx) {
    const dir = ctx.state.described?.tlsDir;
    if (dir) rmSync(dir, { recursive: true, force: true });
  },
};

/** The inventory's text for FILE (TLS files referenced at their final place beside it). */
export function renderInventory(ctx: PhaseContext): string {
  const req = request(ctx);
  const s = ctx.state.described!;
  const e = s.description.etcd!;
  const tlsDir = tlsDirFor(req.file === '-' ? 'inventory.yml' : req.file);
  const clusterVars: Record<string, InventoryValue> = {
    ...s.networkVars,
    flannel_etcd_endpoints: e.endpoints,
    flannel_etcd_prefix: e.prefix,
  };
  for (const k of ['ca', 'cert', 'key'] as const) {
    if (s.tlsFiles?.[k]) clusterVars[`flannel_etcd_${k === 'ca' ? 'cafile' : `${k}file`}`] = join(tlsDir, `${k}.pem`);
  }
  if (e.username) {
    clusterVars.flannel_etcd_username = e.username;
    clusterVars.flannel_etcd_password = "{{ lookup('env', 'FLANPROV_ETCD_PASSWORD') }}";
  }
  const hosts = ctx.hosts.map((h) => ({ name: h.name, vars: { ...req.connectionVars.get(h.name), ...s.description.hostVars.get(h.name) } }));
  const next = `flanprov up --adopt -i ${req.file === '-' ? 'FILE' : req.file}${req.sshConfig ? ` -F ${req.sshConfig}` : ''}`;
  return inventoryYaml({
    header: [
      `Written by flanprov ${VERSION} adopt --write-inventory on ${new Date().toISOString()}`,
      `from the flanneld running on ${ctx.hosts.map((h) => h.name).join(', ')} and etcd's ${configKey(e.prefix)}.`,
      `Next: ${next}`,
    ],
    clusterVars,
    hosts,
  });
}

export const writeInventoryPhase: Phase = {
  title: 'Write inventory',
  // writes on the controller only: a dry run prints the inventory instead
  readOnly: true,
  async run(ctx) {
    const req = request(ctx);
    const text = renderInventory(ctx);
    const s = ctx.state.described!;
    const dry = ctx.options.dryRun;
    const toFile = req.file !== '-';
    const dest = resolve(toFile ? req.file : 'inventory.yml');
    const tlsDir = tlsDirFor(dest);
    if (toFile && existsSync(dest) && !req.force) {
      const why = `${dest} exists: choose another file, or --force to replace it`;
      if (!dry) throw new InvalidInputError(why);
      ctx.log('warn', `${why} (a dry run prints the inventory anyway)`);
    }
    if (s.tlsDir && !dry) {
      mkdirSync(tlsDir, { recursive: true, mode: 0o700 });
      chmodSync(tlsDir, 0o700);
      for (const [k, f] of Object.entries(s.tlsFiles ?? {})) if (f) renameSync(f, join(tlsDir, `${k}.pem`));
    }
    // What is written must load: flanprov's own loader reads it back (a dry run has no TLS files in place).
    try {
      loadInventoryText(text, dest, {
        ...(req.sshConfig ? { sshConfigFile: req.sshConfig } : {}),
        env: { ...process.env, FLANPROV_ETCD_PASSWORD: process.env.FLANPROV_ETCD_PASSWORD ?? '' },
      });
    } catch (e) {
      if (!(dry && s.tlsDir && /file not found/.test((e as Error).message))) throw new Error(`internal: the inventory written for this cluster does not load: ${(e as Error).message}`);
    }
    ctx.state.writtenInventory = text;
    if (!toFile || dry) return;
    const tmp = join(dirname(dest), `.${basename(dest)}.flanprov-${process.pid}`);
    writeFileSync(tmp, text, { mode: 0o644 });
    renameSync(tmp, dest);
    ctx.log('info', `wrote ${dest}${s.tlsDir ? ` and ${tlsDir}/ (etcd TLS files, 0600)` : ''}`);
  },
};

export const ADOPT_WRITE_INVENTORY_PHASES = (connect: Phase, lock: Phase): Phase[] => [
  connect, lock,
  { title: 'Gather facts', readOnly: true, run: (ctx) => gatherFacts(ctx) },
  describePhase, writeInventoryPhase,
];
