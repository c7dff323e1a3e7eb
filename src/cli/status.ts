/**
 * `flanprov status`: the lease table from etcd (subnet, host, public IP, backend, expiry), joined with the
 * inventory's host names by public IP, plus each agent's health. Read-only.
 */
import type { Command } from 'commander';
import type { Phase, PhaseContext } from '../phases/framework/types.js';
import { LeaseStore } from '../etcd/lease-store.js';
import { formatNet } from '../network/ipv4.js';
import type { Lease } from '../network/types.js';
import { connectPhase } from '../phases/shared/connect.js';
import { lockPhase } from '../phases/shared/lock.js';
import { gatherFacts } from '../phases/shared/gather-facts.js';
import { closeEtcd, withEtcd } from '../phases/shared/etcd-session.js';
import { runCommand } from './output/command.js';
import { addCommonOptions, type CommonOpts } from './output/options.js';
import { etcdFactsPhase } from '../phases/etcd/facts.js';
import { etcdStatusPhase } from '../phases/etcd/status.js';

export interface StatusRow {
  subnet: string;
  host: string;
  publicIp: string;
  backend: string;
  expires: string;
  agent: string;
}

/** Joins leases with hosts by public IP; hosts without a lease get a row too. Pure. */
export function statusRows(leases: readonly Lease[], hosts: readonly { name: string; publicIp?: string; agent: string }[], now = Date.now()): StatusRow[] {
  const rows: StatusRow[] = leases.map((l) => {
    const h = hosts.find((x) => x.publicIp === l.attrs.PublicIP);
    const left = l.expiresAt === undefined ? 'never (reservation)' : `${new Date(l.expiresAt).toISOString()} (${Math.round((l.expiresAt - now) / 60000)} min)`;
    return { subnet: formatNet(l.subnet), host: h?.name ?? '(not in inventory)', publicIp: l.attrs.PublicIP, backend: l.attrs.BackendType ?? '', expires: left, agent: h?.agent ?? '' };
  });
  for (const h of hosts) {
    if (!leases.some((l) => l.attrs.PublicIP === h.publicIp)) rows.push({ subnet: '(no lease)', host: h.name, publicIp: h.publicIp ?? '?', backend: '', expires: '', agent: h.agent });
  }
  return rows;
}

export function formatRows(rows: readonly StatusRow[]): string {
  const head: StatusRow = { subnet: 'SUBNET', host: 'HOST', publicIp: 'PUBLIC IP', backend: 'BACKEND', expires: 'EXPIRES', agent: 'AGENT' };
  const keys = Object.keys(head) as (keyof StatusRow)[];
  const w = keys.map((k) => Math.max(...[head, ...rows].map((r) => r[k].length)));
  return [head, ...rows].map((r) => keys.map((k, i) => r[k].padEnd(w[i]!)).join('  ').trimEnd()).join('\n');
}

const statusPhase: Phase = {
  title: 'Status',
  readOnly: true,
  async run(ctx: PhaseContext) {
    await gatherFacts(ctx);
    const { leases } = await withEtcd(ctx, 'listing the leases', (c) => new LeaseStore(c, ctx.cluster.etcd.prefix).list({ withTtl: true }));
    const hosts = ctx.hosts.map((h) => {
      const f = h.facts.gathered;
      const st = f?.agent.status;
      const etcd = st && !st.etcd.connected ? ', etcd unreachable' : '';
      const agent = !f ? 'unreachable' : f.agent.unit?.active !== 'active' ? (f.agent.unit?.active ?? 'not installed') : st?.ready ? `ready (mtu ${st.mtu ?? '?'}${etcd})` : `not ready${etcd}`;
      return { name: h.name, agent, ...(h.facts.iface ? { publicIp: h.facts.iface.publicIp } : {}) };
    });
    const rows = statusRows(leases, hosts);
    ctx.log('info', formatRows(rows));
  },
  cleanUp: closeEtcd,
};

export function defineStatus(c: Command): void {
  addCommonOptions(c, { dryRun: false })
    .action(async (opts: CommonOpts) => {
      // a managed etcd's member table first: it is what is left to see when etcd has lost its quorum
      process.exitCode = await runCommand({ command: 'status', opts, phases: [connectPhase, lockPhase('shared'), etcdFactsPhase, etcdStatusPhase, statusPhase] });
    });
}
