/**
 * A managed etcd's members during a run (docs/etcd.md): each member with its host state — the node's own
 * state when the member is also a node, so both share one SSH connection and one set of facts —, a client
 * bound to each member alone (through its host's SSH connection, which works wherever flanprov can log in,
 * whatever the controller's route to the member), and what the etcd phases changed, for the report.
 * Used by up's etcd phases, status, check and down, and by the run's etcd session (etcd-session.ts).
 */
import type { Etcd3 } from 'etcd3';
import type { HostState, PhaseContext } from '../framework/types.js';
import type { EtcdMemberSpec, ManagedEtcdSpec } from '../../inventory/types.js';
import type { Tunnel } from '../../remote/types.js';
import { makeHostState } from '../framework/runner.js';
import { createEtcdClient } from '../../etcd/client.js';
import { ETCD_CLIENT_PORT } from '../../etcd/member-layout.js';

export interface EtcdMemberHost {
  spec: EtcdMemberSpec;
  host: HostState;
}

interface MemberClient { client: Etcd3; tunnel: Tunnel }

declare module '../framework/types.js' {
  interface RunState {
    /** a managed etcd's members with their host states (etcdMembers()) */
    etcdMembers?: EtcdMemberHost[];
    /** clients bound to one member each (memberClient()), closed by closeMemberClients() */
    etcdMemberClients?: Map<string, Promise<MemberClient>>;
    /** what the etcd phases changed (cluster-wide and per member), for the report */
    etcdChanges?: string[];
    /** the managed cluster answers (seen by the etcd facts, or started by this run): preflight may read it */
    etcdServing?: boolean;
  }
}

export function managedEtcd(ctx: Pick<PhaseContext, 'cluster'>): ManagedEtcdSpec | undefined {
  return ctx.cluster.etcd.managed;
}

/** The members, each with its host state (created once per run; a node's own state when it is one). */
export function etcdMembers(ctx: PhaseContext): EtcdMemberHost[] {
  const m = managedEtcd(ctx);
  if (!m) return [];
  ctx.state.etcdMembers ??= m.members.map((spec) => ({ spec, host: ctx.hosts.find((h) => h.name === spec.name) ?? makeHostState(spec.host) }));
  return ctx.state.etcdMembers;
}

/** Members that are not nodes: the connect phase connects them too (and closes them at the end). */
export function memberOnlyHosts(ctx: PhaseContext): HostState[] {
  return etcdMembers(ctx).filter((m) => !ctx.hosts.includes(m.host)).map((m) => m.host);
}

/** A member to talk to: its name, its address, and the host whose SSH connection leads to it. */
export type MemberEndpoint = { spec: Pick<EtcdMemberSpec, 'name' | 'address'>; host: HostState };

/** A client bound to one member alone (health, status), through its host's SSH connection; one per member per run. */
export function memberClient(ctx: PhaseContext, m: MemberEndpoint): Promise<Etcd3> {
  const clients = (ctx.state.etcdMemberClients ??= new Map<string, Promise<MemberClient>>());
  let p = clients.get(m.spec.name);
  if (!p) {
    p = (async () => {
      const tunnel = await m.host.remote().tunnel(m.spec.address, ETCD_CLIENT_PORT);
      const tls = ctx.cluster.etcd.controllerTls;
      const scheme = tls ? 'https' : 'http';
      const client = createEtcdClient({ endpoints: [`${scheme}://127.0.0.1:${tunnel.port}`], ...(tls ?? {}), dialTimeoutMs: 2000 });
      return { client, tunnel };
    })();
    clients.set(m.spec.name, p);
    p.catch(() => clients.delete(m.spec.name));
  }
  return p.then((c) => c.client);
}

/**
 * Drops a member's client (after the member was (re)started): a gRPC channel that failed to connect backs
 * off for seconds before it tries again, a new one connects at once.
 */
export async function resetMemberClient(ctx: PhaseContext, name: string): Promise<void> {
  const p = ctx.state.etcdMemberClients?.get(name);
  if (!p) return;
  ctx.state.etcdMemberClients!.delete(name);
  await p.then(async (c) => { c.client.close(); await c.tunnel.close(); }, () => undefined);
}

export async function closeMemberClients(ctx: PhaseContext): Promise<void> {
  const clients = ctx.state.etcdMemberClients;
  delete ctx.state.etcdMemberClients;
  if (!clients) return;
  await Promise.allSettled([...clients.values()].map(async (p) => {
    const c = await p;
    c.client.close();
    await c.tunnel.close();
  }));
}

/** Hosts to tunnel the run's etcd session through: each member, to its own client address. */
export function memberTunnels(ctx: PhaseContext): { remote: import('../../remote/types.js').RemoteHost; reachable: string[] }[] {
  return etcdMembers(ctx).filter((m) => m.host.conn).map((m) => ({ remote: m.host.remote(), reachable: [`${m.spec.address}:${ETCD_CLIENT_PORT}`] }));
}

/** Records something the etcd phases changed (the report then says the run was not a no-change run). */
export function etcdChange(ctx: PhaseContext, what: string): void {
  (ctx.state.etcdChanges ??= []).push(what);
}

export function etcdChanges(ctx: PhaseContext): string[] {
  return ctx.state.etcdChanges ?? [];
}
