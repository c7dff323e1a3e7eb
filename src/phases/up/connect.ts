/** Phase 1 — Connect: one SSH connection per host (host keys checked), kept for every later phase. */
import type { Phase } from '../framework/types.js';
import { connectHost } from '../../remote/connection.js';

export const connectPhase: Phase = {
  title: 'Connect',
  readOnly: true,
  async run(ctx) {
    await ctx.forEachHost(async (h) => {
      if (h.conn) return;
      h.conn = await connectHost(h.name, h.spec.connection, ctx.options.connect);
    });
  },
  async cleanUp(ctx) {
    // Connections stay open through the run; the command closes them (closeAll) once every phase is done.
    void ctx;
  },
};

/** Close every host connection of a run (ignores errors: the run's outcome is already decided). */
export async function closeAll(hosts: { conn?: { close(): Promise<void> } }[]): Promise<void> {
  await Promise.all(hosts.map((h) => h.conn?.close().catch(() => undefined)));
}
