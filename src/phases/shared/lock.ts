/**
 * Phase — Lock hosts: right after connecting, every host's lock (remote/host-lock.ts), exclusive for the
 * commands that change hosts, shared for the read-only ones and for dry runs. A host whose lock another run
 * holds fails this phase, so the run stops before anything is read or changed, naming the holder.
 */
import type { Phase, PhaseContext } from '../framework/types.js';
import { acquireHostLock, holderLine, type HostLock, type LockMode } from '../../remote/host-lock.js';
import { memberOnlyHosts } from './etcd-members.js';

declare module '../framework/types.js' {
  interface HostFacts {
    /** this run's lock on the host (released by the phase's cleanUp, or with the connection) */
    lock?: HostLock;
  }
}

export function lockPhase(mode: LockMode): Phase {
  const modeOf = (ctx: PhaseContext): LockMode => (ctx.options.dryRun ? 'shared' : mode);
  return {
    title: 'Lock hosts',
    readOnly: true,
    async run(ctx) {
      const m = modeOf(ctx);
      const holder = holderLine(ctx.command, m);
      // The first host by name first: of two runs started at the same moment, the one that gets it gets
      // all the others, instead of each getting some and both being refused.
      const live = [...ctx.hosts, ...memberOnlyHosts(ctx)].filter((h) => !h.failed && !h.facts.lock).sort((a, b) => a.name.localeCompare(b.name));
      const take = (hosts: typeof live) => ctx.forEachHost(async (h) => { h.facts.lock = await acquireHostLock(h.remote(), m, holder); }, { hosts });
      if (live.length) await take(live.slice(0, 1));
      if (live.length > 1) await take(live.slice(1));
    },
    async cleanUp(ctx) {
      await Promise.allSettled([...ctx.hosts, ...memberOnlyHosts(ctx)].map(async (h) => {
        const l = h.facts.lock;
        delete h.facts.lock;
        await l?.release();
      }));
    },
  };
}
