/** Phase 1 — Connect: one SSH connection per host (host keys checked), kept for every later phase
 * (output/command.ts's runCommand closes them once every phase is done) — also to the members of an etcd
 * flanprov runs that are not nodes (closed by this phase's cleanUp). */
import type { Phase } from '../framework/types.js';
import { connectHost } from '../../remote/connection.js';
import { memberOnlyHosts } from './etcd-members.js';

export const connectPhase: Phase = {
  title: 'Connect',
  readOnly: true,
  async run(ctx) {
    // -v shows each hop (jump hosts first), keys skipped and host keys recorded
    const connect = { debug: (m: string) => ctx.log('debug', m), ...ctx.options.connect };
    await ctx.forEachHost(async (h) => {
      if (h.conn) return;
      h.conn = await connectHost(h.name, h.spec.connection, connect);
    }, { hosts: [...ctx.hosts.filter((h) => !h.failed), ...memberOnlyHosts(ctx)] });
  },
  async cleanUp(ctx) {
    await Promise.allSettled(memberOnlyHosts(ctx).map((h) => h.conn?.close()));
  },
};
