/**
 * The run's etcd session: one connection per command, opened on first use (directly, or through a host's
 * SSH tunnel when the controller cannot reach etcd itself), closed by the cleanUp of the phase that opened it.
 */
import type { Etcd3 } from 'etcd3';
import type { PhaseContext } from '../framework/types.js';
import { isEtcdUnavailable } from '../../etcd/errors.js';
import { UnreachableError } from '../../util/errors.js';
import { openEtcd, openEtcdDirect, type EtcdAccess } from './etcd-access.js';
import { gathered } from './host-state.js';
import { managedEtcd, memberTunnels } from './etcd-members.js';

declare module '../framework/types.js' {
  interface RunState {
    /** the run's etcd connection (etcdFor) */
    etcd?: Promise<EtcdAccess>;
    /** the direct attempt started alongside the facts (startEtcdDirect); etcdFor takes it over */
    etcdDirect?: Promise<EtcdAccess | undefined>;
  }
}

/** The run's etcd connection (opened once, closed by the preflight phase's cleanUp). */
export async function etcdFor(ctx: PhaseContext): Promise<EtcdAccess> {
  let p = ctx.state.etcd;
  if (!p) {
    // a managed etcd is reached through its members' own SSH connections; another through hosts that reach it
    const via = managedEtcd(ctx) ? memberTunnels(ctx) : ctx.hosts
      .filter((h) => h.conn && h.facts.gathered)
      .map((h) => ({ remote: h.remote(), reachable: [...gathered(h).etcdReach].filter(([, ok]) => ok).map(([ep]) => ep) }));
    const direct = ctx.state.etcdDirect;
    delete ctx.state.etcdDirect;
    const opened = openEtcd(ctx.cluster, via, { log: (m) => ctx.log('debug', m), callTimeoutMs: ctx.options.etcdTimeoutMs, ...(direct ? { direct } : {}) });
    ctx.state.etcd = p = opened;
    // a failed attempt is not kept: the next caller tries again
    opened.catch(() => { if (ctx.state.etcd === opened) delete ctx.state.etcd; });
  }
  return p;
}

/**
 * Runs `fn` against the run's etcd within --etcd-timeout: a frozen, overloaded or unreachable etcd fails the
 * command with exit 3 and a message naming the endpoints, the path (direct or which SSH tunnel) and what was
 * being done — never a hang. etcd's own answers (a failed compare, a permission) pass through unchanged.
 */
export async function withEtcd<T>(ctx: PhaseContext, what: string, fn: (client: Etcd3) => Promise<T>): Promise<T> {
  const access = await etcdFor(ctx);
  const ms = ctx.options.etcdTimeoutMs;
  const fail = (why: string) => new UnreachableError(`etcd (${ctx.cluster.etcd.endpoints.join(', ')}, ${access.via}) ${why} while ${what}`, undefined,
    'is etcd running, and not stopped or overloaded? `etcdctl endpoint health` on a host tells; --etcd-timeout gives it longer');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, rej) => { timer = setTimeout(() => rej(fail(`did not answer within ${ms / 1000} s`)), ms); });
  try {
    return await Promise.race([fn(access.client), late]);
  } catch (e) {
    if (isEtcdUnavailable(e)) throw fail(`did not answer (${(e as Error).message.split('\n')[0]})`);
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

/** Starts the direct etcd attempt now (it needs no facts); etcdFor() takes it over. */
export function startEtcdDirect(ctx: PhaseContext): void {
  // a managed etcd may not run yet: its session is opened once it does (etcd phases)
  if (managedEtcd(ctx)) return;
  if (!ctx.state.etcd && !ctx.state.etcdDirect) {
    ctx.state.etcdDirect = openEtcdDirect(ctx.cluster, { timeoutMs: Math.min(1500, ctx.options.etcdTimeoutMs), callTimeoutMs: ctx.options.etcdTimeoutMs }).catch(() => undefined);
  }
}

export async function closeEtcd(ctx: PhaseContext): Promise<void> {
  const p = ctx.state.etcd;
  const d = ctx.state.etcdDirect;
  delete ctx.state.etcd;
  delete ctx.state.etcdDirect;
  if (p) await p.then((e) => e.close(), () => undefined);
  if (d) await d.then((e) => e?.close());
}
